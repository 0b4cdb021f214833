"""Parameters, FLOPs, inference throughput, training step time and peak memory, each measured
in one run and printed as ratios to a baseline measured in the same run.

    python tools/benchmark.py [--size 512] [--batch 2] [--iters 10] [--device cpu|cuda] [--out docs/benchmarks.md]
    python tools/benchmark.py --task det [--batch 1] [--iters 10] [--device cpu|cuda] [--out FILE]

``--task seg`` (default): the segmentation models, ratios to SegNeXt-T, FLOPs = multiply-
accumulates counted by ``mmengine.analysis`` (the paper's "Mult-Adds", spec 000 Table 1).
``--task det``: the instance-segmentation models through mmdet at their configs' input sizes
(YOLACT 550x550, Mask R-CNN 512x512), ratios to YOLACT-R50 and to Mask R-CNN; inference is the
whole ``predict`` (post-processing and mask pasting included); GMACs are those of the
image-level network (backbone, neck, dense heads and protonet; the RoI heads of the two-stage
models, whose cost depends on the number of proposals, are not counted), from
``torch.utils.flop_counter``.
Each model runs in its own subprocess so that peak memory (process RSS on CPU,
``torch.cuda.max_memory_allocated`` on CUDA) belongs to that model alone.
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

from _common import REPO_ROOT

MODELS = {
    'SegNeXt-T': 'configs/segnext/segnext_mscan-t_wbc-256x256.py',
    'MSFF-SegNeXt': 'configs/msff_segnext/msff-segnext_mscan-t_wbc-256x256.py',
    'U-Net': 'configs/unet/unet_wbc-256x256.py',
    'R2U-Net': 'configs/r2unet/r2unet_wbc-256x256.py',
    'DeepLabV3': 'configs/deeplabv3/deeplabv3_r50_wbc-256x256.py',
}
BASELINE = 'SegNeXt-T'
# name: (config, input size, baseline of its group)
DET_MODELS = {
    'YOLACT-R50': ('configs/yolact_cis/yolact_r50_fpn_wbc-550x550.py', 550, 'YOLACT-R50'),
    'YOLACT-CIS': ('configs/yolact_cis/yolact-cis_ghost-r50-s4_dffn-ddam_wbc-550x550.py', 550, 'YOLACT-R50'),
    'Mask R-CNN': ('configs/r_mask_rcnn/mask-rcnn_r50_fpn_wbc-512.py', 512, 'Mask R-CNN'),
    'R-Mask R-CNN': ('configs/r_mask_rcnn/r-mask-rcnn_r50_bu-ca-sa-fpn_wbc-512.py', 512, 'Mask R-CNN'),
}


def measure(config: str, size: int, batch: int, iters: int, device: str) -> dict:
    """Runs inside the child process."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmseg.registry import MODELS as REG
    from mmseg.utils import register_all_modules

    import mmseg_plugins  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    model = REG.build(Config.fromfile(osp.join(REPO_ROOT, config)).model).to(device)
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(batch, 3, size, size, device=device)
    metas = [dict(img_shape=(size, size), ori_shape=(size, size))] * batch

    def forward():
        return model.encode_decode(x, metas)

    model.eval()
    with torch.no_grad():  # one image; the segmentor's forward in 'tensor' mode = backbone + head
        flops = get_model_complexity_info(model, inputs=(x[:1],), show_table=False, show_arch=False)['flops']
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    target = torch.randint(0, 2, (batch, size, size), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(), target).backward()
        opt.step()

    return dict(params=params, flops=flops, **_timings(model, forward, step, batch, iters, device))


def _timings(model, infer, train_step, batch: int, iters: int, device: str) -> dict:
    """Inference images/s (eval, no grad), training step time and peak memory of the process
    (CPU RSS) or of CUDA allocations during training; one warm-up call each."""
    import resource

    import torch
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)

    def mean_time(fn, n):
        fn()
        sync()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        sync()
        return (time.perf_counter() - t0) / n

    model.eval()
    with torch.no_grad():
        infer_s = mean_time(infer, iters)
    model.train()
    if device.startswith('cuda'):
        train_step()
        torch.cuda.reset_peak_memory_stats()
    train_s = mean_time(train_step, max(iters // 2, 1))
    peak_mb = (torch.cuda.max_memory_allocated() / 2**20 if device.startswith('cuda')
               else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return dict(infer_img_s=batch / infer_s, train_step_s=train_s, peak_mb=peak_mb)


def _det_batch(size: int, batch: int, device: str):
    """A batch of random images with one elliptical cell each, as mmdet's data preprocessor outputs it."""
    import numpy as np
    import torch
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    samples = []
    yy, xx = np.mgrid[:size, :size]
    for _ in range(batch):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        mask = (((yy - size / 2) / (size / 4)) ** 2 + ((xx - size / 2) / (size / 5)) ** 2 <= 1).astype(np.uint8)
        gt = InstanceData()
        gt.bboxes = torch.tensor([[size / 2 - size / 5, size / 4, size / 2 + size / 5, 3 * size / 4]], device=device)
        gt.labels = torch.tensor([0], device=device)
        gt.masks = BitmapMasks(mask[None], size, size)
        s.gt_instances = gt
        samples.append(s)
    return torch.randn(batch, 3, size, size, device=device), samples


def measure_det(config: str, size: int, batch: int, iters: int, device: str) -> dict:
    """Runs inside the child process (mmdet models)."""
    import torch
    from mmengine.config import Config
    from mmdet.registry import MODELS as REG
    from mmdet.utils import register_all_modules
    from torch.utils.flop_counter import FlopCounterMode

    import mmdet_plugins  # noqa: F401
    register_all_modules()
    torch.manual_seed(0)
    model = REG.build(Config.fromfile(osp.join(REPO_ROOT, config)).model).to(device)
    params = sum(p.numel() for p in model.parameters())
    x, samples = _det_batch(size, batch, device)

    def image_level(inp):
        if hasattr(model, 'extract_head_and_proto_feats'):  # YOLACTCIS
            head_feats, proto_feats = model.extract_head_and_proto_feats(inp)
        else:
            head_feats = proto_feats = model.extract_feat(inp)
        if hasattr(model, 'rpn_head'):
            return model.rpn_head(head_feats)
        return model.bbox_head(head_feats), model.mask_head.protonet(proto_feats[0])

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        image_level(x[:1])
    macs = counter.get_total_flops() / 2
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step():
        opt.zero_grad(set_to_none=True)
        loss, _ = model.parse_losses(model.loss(x, samples))
        loss.backward()
        opt.step()

    return dict(params=params, flops=macs,
                **_timings(model, lambda: model.predict(x, samples), step, batch, iters, device))


def machine(device: str) -> str:
    import torch
    if device.startswith('cuda'):
        return f'{torch.cuda.get_device_name()} (torch {torch.__version__})'
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return f'{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=2,
                    help='images per step (>= 2: the BatchNorm after DeepLabV3 image pooling cannot train on 1; the paper used 2)')
    ap.add_argument('--iters', type=int, default=10, help='timed inference iterations (training: half)')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--task', choices=['seg', 'det'], default='seg',
                    help='seg: segmentation models (--size applies); det: instance segmentation at the configs\' sizes')
    ap.add_argument('--models', nargs='+', choices=list(MODELS) + list(DET_MODELS),
                    help='default: every model of the task')
    ap.add_argument('--out', help='write a markdown report here (e.g. docs/benchmarks.md)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    table_of = DET_MODELS if args.task == 'det' else MODELS
    if args.child:
        if args.task == 'det':
            config, size, _ = DET_MODELS[args.child]
            result = measure_det(config, size, args.batch, args.iters, args.device)
        else:
            result = measure(MODELS[args.child], args.size, args.batch, args.iters, args.device)
        print('RESULT ' + json.dumps(result))
        return
    args.models = args.models or list(table_of)
    wrong = [m for m in args.models if m not in table_of]
    if wrong:
        ap.error(f'--models {wrong} are not {args.task} models; choose from {list(table_of)}')
    baseline_of = ({m: DET_MODELS[m][2] for m in DET_MODELS} if args.task == 'det'
                   else {m: BASELINE for m in MODELS})
    for base in dict.fromkeys(baseline_of[m] for m in list(args.models)):
        if base not in args.models:
            args.models.insert(0, base)
    args.models = [m for m in table_of if m in args.models]
    results = {}
    for i, name in enumerate(args.models, 1):
        print(f'[{i}/{len(args.models)}] {name} ...', flush=True)
        cmd = [sys.executable, __file__, '--child', name, '--task', args.task, '--size', str(args.size),
               '--batch', str(args.batch), '--iters', str(args.iters), '--device', args.device]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
        line = next((l for l in proc.stdout.splitlines() if l.startswith('RESULT ')), None)
        if proc.returncode or line is None:
            sys.exit(f'error: benchmarking {name} failed:\n{proc.stderr[-3000:]}')
        results[name] = json.loads(line[7:])
    head = (f'| model | params (M) | x | GMACs | x | infer img/s | x | train step (s) | x | peak mem (MB) | x |\n'
            '|---|---|---|---|---|---|---|---|---|---|---|')
    rows = [head]
    for name, r in results.items():
        base = results[baseline_of[name]]
        rows.append(f"| {name} | {r['params'] / 1e6:.3f} | {r['params'] / base['params']:.2f} | "
                    f"{r['flops'] / 1e9:.2f} | {r['flops'] / base['flops']:.2f} | "
                    f"{r['infer_img_s']:.2f} | {r['infer_img_s'] / base['infer_img_s']:.2f} | "
                    f"{r['train_step_s']:.3f} | {r['train_step_s'] / base['train_step_s']:.2f} | "
                    f"{r['peak_mb']:.0f} | {r['peak_mb'] / base['peak_mb']:.2f} |")
    table = '\n'.join(rows)
    command = 'python tools/benchmark.py ' + ' '.join(sys.argv[1:])
    if args.task == 'det':
        shape = f'{args.batch} image(s) per step at each config\'s size ({", ".join(f"{m} {DET_MODELS[m][1]}" for m in results)})'
        bases = ' and '.join(dict.fromkeys(baseline_of[m] for m in results))
    else:
        shape, bases = f'{args.batch}x3x{args.size}x{args.size}', BASELINE
    header = (f'Input {shape}, device {args.device}: {machine(args.device)}.\n'
              f'Ratios (x) are to {bases} measured in the same run. Command: `{command}`\n')
    print(header + table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(header + '\n' + table + '\n')
        print(f'written to {args.out}')


if __name__ == '__main__':
    main()
