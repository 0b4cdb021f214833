"""Parameters, FLOPs, inference throughput, training step time and peak memory of the
segmentation models, each measured in one run and printed as ratios to SegNeXt-T.

    python tools/benchmark.py [--size 512] [--batch 2] [--iters 10] [--device cpu|cuda] [--out docs/benchmarks.md]

Each model runs in its own subprocess so that peak memory (process RSS on CPU,
``torch.cuda.max_memory_allocated`` on CUDA) belongs to that model alone. FLOPs are
multiply-accumulates counted by ``mmengine.analysis`` (the convention of the paper's
"Mult-Adds", spec 000 Table 1).
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


def measure(config: str, size: int, batch: int, iters: int, device: str) -> dict:
    """Runs inside the child process."""
    import resource

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
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    with torch.no_grad():
        forward()
        sync()
        t0 = time.perf_counter()
        for _ in range(iters):
            forward()
        sync()
        infer_s = (time.perf_counter() - t0) / iters
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    target = torch.randint(0, 2, (batch, size, size), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(forward(), target).backward()
        opt.step()

    step()
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    sync()
    t0 = time.perf_counter()
    for _ in range(max(iters // 2, 1)):
        step()
    sync()
    train_s = (time.perf_counter() - t0) / max(iters // 2, 1)
    peak_mb = (torch.cuda.max_memory_allocated() / 2**20 if device.startswith('cuda')
               else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return dict(params=params, flops=flops, infer_img_s=batch / infer_s, train_step_s=train_s, peak_mb=peak_mb)


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
    ap.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    ap.add_argument('--out', help='write a markdown report here (e.g. docs/benchmarks.md)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print('RESULT ' + json.dumps(measure(MODELS[args.child], args.size, args.batch, args.iters, args.device)))
        return
    if BASELINE not in args.models:
        args.models.insert(0, BASELINE)
    results = {}
    for i, name in enumerate(args.models, 1):
        print(f'[{i}/{len(args.models)}] {name} ...', flush=True)
        cmd = [sys.executable, __file__, '--child', name, '--size', str(args.size), '--batch', str(args.batch),
               '--iters', str(args.iters), '--device', args.device]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO_ROOT)
        line = next((l for l in proc.stdout.splitlines() if l.startswith('RESULT ')), None)
        if proc.returncode or line is None:
            sys.exit(f'error: benchmarking {name} failed:\n{proc.stderr[-3000:]}')
        results[name] = json.loads(line[7:])
    base = results[BASELINE]
    head = (f'| model | params (M) | x | GMACs | x | infer img/s | x | train step (s) | x | peak mem (MB) | x |\n'
            '|---|---|---|---|---|---|---|---|---|---|---|')
    rows = [head]
    for name, r in results.items():
        rows.append(f"| {name} | {r['params'] / 1e6:.3f} | {r['params'] / base['params']:.2f} | "
                    f"{r['flops'] / 1e9:.2f} | {r['flops'] / base['flops']:.2f} | "
                    f"{r['infer_img_s']:.2f} | {r['infer_img_s'] / base['infer_img_s']:.2f} | "
                    f"{r['train_step_s']:.3f} | {r['train_step_s'] / base['train_step_s']:.2f} | "
                    f"{r['peak_mb']:.0f} | {r['peak_mb'] / base['peak_mb']:.2f} |")
    table = '\n'.join(rows)
    command = 'python tools/benchmark.py ' + ' '.join(sys.argv[1:])
    header = (f'Input {args.batch}x3x{args.size}x{args.size}, device {args.device}: {machine(args.device)}.\n'
              f'Ratios (x) are to {BASELINE} measured in the same run. Command: `{command}`\n')
    print(header + table)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(header + '\n' + table + '\n')
        print(f'written to {args.out}')


if __name__ == '__main__':
    main()
