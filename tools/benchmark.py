"""Parameters, FLOPs, inference throughput, training step time and peak memory, printed as
ratios to a baseline measured in the same run.

    python tools/benchmark.py [--size 512] [--batch 2] [--iters 60] [--threads 2] [--device cpu|cuda] \
        [--out docs/benchmarks.md]
    python tools/benchmark.py --task det [--batch 1] [--iters 60] [--device cpu|cuda] [--out FILE]
    python tools/benchmark.py --task cad [--size 256] [--batch 2] [--threads 1] [--out FILE]
    python tools/benchmark.py --size 64 --models MSFF-SegNeXt --repeat-check    # is the ratio reproducible?

``--task seg`` (default): the segmentation models, ratios to SegNeXt-T, FLOPs = multiply-
accumulates counted by ``mmengine.analysis`` (the paper's "Mult-Adds", spec 000 Table 1).
Inference is ``encode_decode`` (logits at the input size). The training loss follows the
model's output: cross-entropy on C >= 2 logit channels, BCE-with-logits on one channel (the
sigmoid models, e.g. ALL-FABNET in mmseg's binary mode).
``--task det``: the instance-segmentation models through mmdet at their configs' input sizes
(YOLACT 550x550, Mask R-CNN 512x512), ratios to YOLACT-R50 and to Mask R-CNN; inference is the
whole ``predict`` (post-processing and mask pasting included); GMACs are those of the
image-level network (backbone, neck, dense heads and protonet; the RoI heads of the two-stage
models, whose cost depends on the number of proposals, are not counted), from
``torch.utils.flop_counter``.
``--task cad``: the explainable-CAD pipeline of spec 002, ratios to the MONAI U-Net: the
handcrafted nucleus mask (Algorithm 1, ``hemaseg.handcrafted``: no parameters, no training step,
its OpenCV/SciPy operations are not counted as GMACs), the U-Net's ``predict`` (mask at the
input size), the ensemble (``EnsembleNucleusSegmentor.predict`` itself: U-Net ``predict``,
handcrafted mask, AND + area opening per image; inference only; its parameters and GMACs are its
U-Net's) and the ResNet-50 Medium-Mish classifier (at 224x224 whatever ``--size``, as spec 002
§4.3 feeds it; ``tensor`` mode, cross-entropy for training). A model without a training step or
without counted GMACs shows ``-`` in those columns, with a note under the table.

Inputs. The segmentation and CAD models see the same synthetic smear images (a pale background,
one cell with a purple nucleus, noise; :func:`synthetic_smear`) as uint8 RGB, normalised with
the mean / std of each model's own data preprocessor (MONAI U-Net: [0, 1]; the others:
ImageNet statistics), so every model, and the handcrafted algorithm, gets what it would get
from a real image. ``--size`` must be a multiple of each model's ``size_divisor`` (the padding
its data preprocessor applies; MONAI U-Net 8, ALL-FABNET and SegNeXt 32): the tool stops naming
the model otherwise.

Timing. Every compared model is built in this one process and the iterations are *interleaved*:
round r calls model A once, then model B once, ... (round-robin), first ``--warmup`` untimed
rounds, then ``--iters`` timed ones; training steps likewise (``--train-warmup``,
``--train-iters``). Whatever else the machine does (other jobs, frequency changes, thermal
state) then hits every model alike instead of whichever happened to run at that moment. Each
model's time is the *median* of its timed iterations (reported with its IQR, q3 - q1), so single
slow iterations do not move it, and ``x`` is the ratio of the medians. ``x paired`` is the median
(IQR) over the timed rounds of the ratio *within* a round: a model and its baseline ran back to
back there, so a slow period of a shared machine slows both and cancels; on a busy machine it is
the more reproducible of the two (on a quiet one they agree). Before each measurement every model
gets back its initial weights and a fresh optimizer, and the RNG is reseeded, so
``--repeat-check`` (the whole measurement twice, both runs' ratios and their relative difference
printed) compares like with like.

Parameters, GMACs and peak memory come from one subprocess per model, so that peak memory
(process RSS on CPU, ``torch.cuda.max_memory_allocated`` on CUDA) belongs to that model alone.
Torch uses ``--threads`` intra-op threads (default 2) in every process; the report says so. On a CPU
that other jobs keep busy, more threads than idle cores make OpenMP's threads spin-wait on each other:
timings get several times slower and far noisier (SegNeXt-T at 64x64 on the 2-core development
machine at load ~5: 0.09 s/iteration with 1 thread, 0.55 s with 2; 0.13 s with 2 threads and
``OMP_WAIT_POLICY=PASSIVE``). Measure there with ``--threads 1``, or on an otherwise idle machine.
"""
import argparse
import json
import sys

from hemaseg.benchmarking.models import CAD_MODELS, CLASSIFIER_SIZE, DET_MODELS, MODELS
from hemaseg.benchmarking.report import BF16_PEAK_TFLOPS
from hemaseg.benchmarking.timing import DEFAULT_ITERS, DEFAULT_TRAIN_ITERS, DEFAULT_TRAIN_WARMUP, DEFAULT_WARMUP


def build(task: str, name: str, size: int, batch: int, device: str):
    """``(Bench, MAC counter or None)`` of one model of ``task``, from the adapter of its framework
    (imported only when needed: the handcrafted model runs without mmseg)."""
    if task == 'det':
        from mmdet_plugins.benchmark import build_det
        return build_det(name, batch, device)
    if task == 'seg':
        from mmseg_plugins.benchmark import build_seg
        return build_seg(name, size, batch, device)
    kind = CAD_MODELS[name][1]
    if kind == 'handcrafted':
        from mmengine_plugins.benchmark import build_handcrafted
        return build_handcrafted(name, size, batch)
    if kind in ('segmentor', 'ensemble'):
        from mmseg_plugins.benchmark import build_cad_segmentor
        return build_cad_segmentor(name, size, batch, device)
    if kind == 'classifier':
        from mmpretrain_plugins.benchmark import build_classifier
        return build_classifier(name, batch, device)
    raise ValueError(f'CAD_MODELS[{name!r}]: unknown kind {kind!r}')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--batch', type=int, default=2,
                    help='images per step (>= 2: the BatchNorm after DeepLabV3 image pooling cannot train on 1; the paper used 2)')
    ap.add_argument('--warmup', type=int, default=DEFAULT_WARMUP, help='untimed inference rounds (default %(default)s)')
    ap.add_argument('--iters', type=int, default=DEFAULT_ITERS,
                    help='timed inference rounds; each round runs every model once (default %(default)s)')
    ap.add_argument('--train-warmup', type=int, default=DEFAULT_TRAIN_WARMUP,
                    help='untimed training rounds (default %(default)s)')
    ap.add_argument('--train-iters', type=int,
                    help=f'timed training rounds (default: {DEFAULT_TRAIN_ITERS}, or --iters when that is smaller)')
    ap.add_argument('--threads', type=int, default=2,
                    help='torch intra-op threads in every process (default %(default)s)')
    ap.add_argument('--repeat-check', action='store_true',
                    help='measure the timings twice and print both runs\' ratios and their relative difference')
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--task', choices=['seg', 'det', 'cad'], default='seg',
                    help='seg: segmentation models (--size applies); det: instance segmentation at the configs\' '
                         'sizes; cad: the explainable-CAD pipeline of spec 002 (segmentation at --size, classifier '
                         f'at {CLASSIFIER_SIZE})')
    ap.add_argument('--models', nargs='+', choices=list(dict.fromkeys([*MODELS, *DET_MODELS, *CAD_MODELS])),
                    help='default: every model of the task')
    ap.add_argument('--precision', nargs='+', choices=['fp32', 'bf16'],
                    help='time each model in these precisions (bf16: autocast); default fp32, and bf16 too on a GPU '
                         'that has it')
    ap.add_argument('--static', choices=['inline', 'process'],
                    help='parameters, GMACs and peak memory: in this process one model at a time (seconds per model; '
                         'the default on CUDA) or one process per model (the CPU default: RSS per model)')
    ap.add_argument('--peak-tflops', type=float,
                    help='the device\'s dense bf16 peak, for the "%% of peak" columns (default: from the GPU name, '
                         f'known: {", ".join(BF16_PEAK_TFLOPS)})')
    ap.add_argument('--out', help='write a markdown report here (e.g. docs/benchmarks.md)')
    ap.add_argument('--child', help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train_iters is None:
        args.train_iters = min(DEFAULT_TRAIN_ITERS, args.iters)
    if args.warmup < 0 or args.train_warmup < 0 or args.iters < 1 or args.train_iters < 1 or args.threads < 1:
        ap.error('--warmup/--train-warmup must be >= 0, --iters/--train-iters/--threads >= 1')

    import torch

    from hemaseg.benchmarking.bench import static_metrics
    from hemaseg.benchmarking.run import run_benchmark, select_models
    torch.set_num_threads(args.threads)
    if args.child:
        print('RESULT ' + json.dumps(static_metrics(
            lambda: build(args.task, args.child, args.size, args.batch, args.device), args.device)))
        return
    try:
        args.models, baseline_of = select_models(args.task, args.models)
    except ValueError as e:
        ap.error(str(e))
    print(f'torch threads: {torch.get_num_threads()} (--threads {args.threads})', flush=True)
    run_benchmark(args, baseline_of, build, __file__, sys.argv[1:])


if __name__ == '__main__':
    main()
