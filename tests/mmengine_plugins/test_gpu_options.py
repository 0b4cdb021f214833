"""The GPU options of tools/train.py and tools/test.py on the CPU: --amp plumbing (bf16 / fp16 config,
clear refusals, bf16 autocast inference), the stability of the Hamburger's NMF and the EGA under bf16,
channels-last, data-loader workers, learning-rate scaling, and a training step without host-device
synchronisations."""
import argparse
import json
import os.path as osp

import pytest
import torch

pytest.importorskip('mmseg', reason='OpenMMLab stack not installed (run tools/setup_env.sh)')
from mmengine.config import Config  # noqa: E402

from conftest import REPO_ROOT, TINY_CONFIG, run_tool  # noqa: E402
from mmengine_plugins.config import (apply_amp, apply_auto_scale_lr, apply_channels_last, apply_run_options,  # noqa: E402
                                     resolve_workers)

MSFF = osp.join(REPO_ROOT, 'configs/msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py')
SEGNEXT = osp.join(REPO_ROOT, 'configs/segnext/segnext_mscan-t_1xb8-4k_wbc-256x256.py')


def test_amp_modes_configure_mmengine_amp_wrapper():
    cfg = Config.fromfile(MSFF)
    apply_amp(cfg, 'bf16', cuda=True, bf16=True)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    assert cfg.optim_wrapper.loss_scale == dict(enabled=False)  # no scaler for bf16
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'  # the config's optimizer is kept
    cfg = Config.fromfile(MSFF)
    apply_amp(cfg, 'fp16', cuda=True)
    assert cfg.optim_wrapper.dtype == 'float16' and cfg.optim_wrapper.loss_scale == 'dynamic'
    with pytest.raises(SystemExit, match='needs a CUDA GPU'):
        apply_amp(Config.fromfile(MSFF), 'bf16', cuda=False)
    with pytest.raises(SystemExit, match='no bf16 support.*--amp fp16'):
        apply_amp(Config.fromfile(MSFF), 'bf16', cuda=True, bf16=False)


def test_workers_sized_to_the_machine():
    assert resolve_workers('auto', processes=1, cpus=16) == 8  # capped at 8
    assert resolve_workers('auto', processes=10, cpus=16) == 1  # 10 folds on one 16-core node
    assert resolve_workers('auto', processes=2, cpus=16) == 7  # 8 cores each, one for the main process
    assert resolve_workers('auto', processes=1, cpus=2) == 1
    assert resolve_workers('3') == 3
    with pytest.raises(SystemExit, match='>= 0'):
        resolve_workers('-1')


def test_run_options_change_the_config():
    cfg = Config.fromfile(MSFF)
    args = argparse.Namespace(amp=None, channels_last=True, cudnn_benchmark=True, workers='2', processes=1,
                              auto_scale_lr=True)
    apply_run_options(cfg, args, base_batch_size=8)
    assert cfg.env_cfg.cudnn_benchmark is True and cfg.env_cfg.dist_cfg == dict(backend='nccl')  # others kept
    assert {'type': 'ChannelsLastHook'} in cfg.custom_hooks
    assert all(cfg[f'{s}_dataloader'].num_workers == 2 for s in ('train', 'val', 'test'))
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=8)
    apply_channels_last(cfg)
    assert cfg.custom_hooks.count({'type': 'ChannelsLastHook'}) == 1
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=16)  # a config that states its own base wins
    apply_auto_scale_lr(cfg, 8)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)


def _msff_batch(size=64, batch=2):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, size, size), generator=g))
        samples.append(s)
    return dict(inputs=list(torch.randint(0, 255, (batch, 3, size, size), generator=g, dtype=torch.uint8)),
                data_samples=samples)


def _build(config):
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import mmseg_plugins  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(config).model)


@pytest.mark.parametrize('config', [MSFF, SEGNEXT], ids=['msff-segnext', 'segnext-t'])
def test_training_step_has_no_host_device_sync(config):
    """The whole loss + backward of the GPU-protocol models: no .item(), bool(tensor), nonzero or
    boolean-mask indexing (each stalls the CPU until the GPU catches up)."""
    from hemaseg.host_sync import count_host_syncs
    model = _build(config).train()
    batch = _msff_batch()

    def step():
        data = model.data_preprocessor(batch, True)
        loss, _ = model.parse_losses(model.loss(data['inputs'], data['data_samples']))
        loss.backward()

    assert count_host_syncs(step) == {}


def test_sync_audit_finds_what_mmseg_accuracy_did_and_the_replacement_agrees():
    from mmseg.models.losses.accuracy import accuracy as mmseg_accuracy

    from hemaseg.host_sync import count_host_syncs
    from mmseg_plugins.losses import sync_free_accuracy
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 3, 16, 16, generator=g), torch.randint(0, 3, (2, 16, 16), generator=g)
    target[0, :4] = 255  # ignored pixels
    calls = count_host_syncs(lambda: mmseg_accuracy(pred, target, ignore_index=255))
    assert sum(calls.values()) == 2 and all('boolean mask' in op for op, _ in calls)
    assert count_host_syncs(lambda: sync_free_accuracy(pred, target, ignore_index=255)) == {}
    # (mmseg's thresh= path fails on (N, C, H, W) predictions: its .t() takes 2-D tensors only.)
    for kwargs in (dict(ignore_index=255), dict(ignore_index=None), dict(topk=(1, 2), ignore_index=255)):
        ours, theirs = sync_free_accuracy(pred, target, **kwargs), mmseg_accuracy(pred, target, **kwargs)
        for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
            assert a.shape == b.shape and torch.allclose(a, b, rtol=1e-5), (kwargs, a, b)


def test_hamburger_nmf_and_ega_are_stable_under_bf16_autocast():
    """MSFF-SegNeXt's logits and gradients under bf16 autocast (CPU autocast rounds matmuls and
    convolutions to bf16 as CUDA's does) stay finite and close to fp32: the NMF's multiplicative
    updates and the EGA's attention do not blow up in 8-bit mantissas."""
    model = _build(MSFF).train()
    data = model.data_preprocessor(_msff_batch(size=128), True)
    inputs = data['inputs']

    def run(bf16):
        model.zero_grad()
        torch.manual_seed(0)  # the NMF's random bases
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            feats = model.extract_feat(inputs)
            logits = model.decode_head.forward(feats)
            ega_in = model.decode_head.hamburger(model.decode_head.squeeze(torch.cat(
                [torch.nn.functional.interpolate(f, feats[1].shape[2:], mode='bilinear') for f in feats[1:4]], 1)))
        logits.float().square().mean().backward()
        grads = torch.cat([p.grad.flatten() for p in model.decode_head.parameters() if p.grad is not None])
        return logits.float().detach(), ega_in.float().detach(), grads.float()

    logits32, ham32, grad32 = run(False)
    logits16, ham16, grad16 = run(True)
    for t in (logits16, ham16, grad16):
        assert torch.isfinite(t).all()

    def rel(a, b):
        return ((a - b).norm() / b.norm()).item()
    assert rel(ham16, ham32) < 0.05, rel(ham16, ham32)  # Hamburger (NMF) output
    assert rel(logits16, logits32) < 0.05, rel(logits16, logits32)  # after the EGA and the shared 2nd Hamburger
    assert rel(grad16, grad32) < 0.1, rel(grad16, grad32)


def test_train_and_test_tools_with_the_gpu_options_on_cpu(tiny_dataset, tmp_path):
    data = [f'{d}.dataset.data_root={tiny_dataset}' for d in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    work = tmp_path / 'work'
    # The tiny config's batch is 2; at batch 4 --auto-scale-lr doubles its learning rate.
    run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(work), '--channels-last', '--workers', '0',
              '--auto-scale-lr', '--cfg-options', *data, 'train_dataloader.batch_size=4'])
    log = next(work.glob('*/*.log')).read_text()
    assert 'LR has been automatically scaled' in log or 'lr' in log
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    base_lr = Config.fromfile(TINY_CONFIG).optim_wrapper.optimizer.lr
    first = next(s for s in scalars if 'lr' in s)
    assert first['lr'] == pytest.approx(2 * base_lr, rel=0.3)  # poly decay from 2x the base rate

    ckpt = str(work / 'iter_8.pth')
    fp32 = run_tool(['tools/test.py', TINY_CONFIG, ckpt, '--work-dir', str(tmp_path / 't32'), '--cfg-options', *data])
    # (Not with --channels-last: oneDNN's bf16 NHWC path for MSCAN's 1xk depthwise convolutions is
    # extremely slow on CPUs; cuDNN is another matter, measure it with tools/benchmark.py.)
    bf16 = run_tool(['tools/test.py', TINY_CONFIG, ckpt, '--work-dir', str(tmp_path / 't16'), '--amp', 'bf16',
                     '--cfg-options', *data])
    m32 = json.loads((tmp_path / 't32' / 'test_metrics.json').read_text())
    m16 = json.loads((tmp_path / 't16' / 'test_metrics.json').read_text())
    assert abs(m32['nucleus/mDice'] - m16['nucleus/mDice']) < 0.05, (m32, m16)
    assert fp32.returncode == bf16.returncode == 0

    proc = run_tool(['tools/train.py', TINY_CONFIG, '--work-dir', str(tmp_path / 'amp'), '--amp', 'bf16',
                     '--cfg-options', *data], check=False)
    assert proc.returncode != 0 and 'error: --amp bf16 needs a CUDA GPU' in proc.stderr


def _train_tiny(work_dir, tiny_dataset, runtime_info):
    """8 iterations of the tiny MSFF-SegNeXt (logger every 2) in this process; returns the Runner."""
    from mmengine.runner import Runner

    from mmengine_plugins.config import resolve_fold
    cfg = Config.fromfile(TINY_CONFIG)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = tiny_dataset
    resolve_fold(cfg)
    cfg.work_dir = str(work_dir)
    cfg.default_hooks.runtime_info = dict(type=runtime_info)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.visualizer.name = f'visualizer_{runtime_info}'  # a global instance per name: one per run
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def test_loss_logging_without_a_sync_per_iteration_logs_the_same_values(tiny_dataset, tmp_path):
    """SyncFreeRuntimeInfoHook (the runtime default of every config here) vs MMEngine's
    RuntimeInfoHook: the same seeded training logs identical losses, and the message hub no longer
    turns a tensor into a float at every iteration (host syncs on a GPU)."""
    from hemaseg.host_sync import count_host_syncs
    logs, hub_syncs = {}, {}
    for hook in ('RuntimeInfoHook', 'SyncFreeRuntimeInfoHook'):
        calls = count_host_syncs(lambda: _train_tiny(tmp_path / hook, tiny_dataset, hook))
        hub_syncs[hook] = sum(n for (op, where), n in calls.items() if 'message_hub' in where or 'history_buffer' in where)
        rows = [json.loads(line) for line in next((tmp_path / hook).glob('*/vis_data/scalars.json')).read_text().splitlines()]
        logs[hook] = [{k: v for k, v in r.items() if 'loss' in k or k in ('step', 'lr')} for r in rows if 'loss' in r]
    assert hub_syncs['RuntimeInfoHook'] >= 8 * 3  # loss, decode.loss_ce, decode.acc_seg at each of 8 iterations
    assert hub_syncs['SyncFreeRuntimeInfoHook'] == 0
    assert logs['SyncFreeRuntimeInfoHook'] == logs['RuntimeInfoHook'] and len(logs['RuntimeInfoHook']) == 4


def test_mmdet_on_a_gpu_needs_mmcv_cuda_ops():
    """Here mmcv has CPU ops only (CI builds it so): an mmdet config that would run on a GPU is refused
    with the fix; on the CPU, or for an mmseg config, nothing happens."""
    from mmcv.ops import get_compiling_cuda_version

    from mmengine_plugins.config import check_mmcv_cuda_ops
    det = Config.fromfile(osp.join(REPO_ROOT, 'configs/r_mask_rcnn/mask-rcnn_r50_fpn_1xb4-12k_wbc-512.py'))
    check_mmcv_cuda_ops(det, cuda=False)
    check_mmcv_cuda_ops(Config.fromfile(MSFF), cuda=True)
    if get_compiling_cuda_version() in ('', 'not available'):
        with pytest.raises(SystemExit, match='mmcv was built with CPU ops only.*FORCE_CUDA=1'):
            check_mmcv_cuda_ops(det, cuda=True)
    else:
        check_mmcv_cuda_ops(det, cuda=True)
