"""K-fold cross-validation of an OpenMMLab config, and the paper's t-test.

    python tools/cross_validate.py run CONFIG [--folds K ...] [--work-dir DIR] [--cfg-options ...]
    python tools/cross_validate.py run CONFIG --parallel 5 --amp bf16 --workers auto     # 5 folds at once on a GPU
    python tools/cross_validate.py compare A/cv_summary.json B/cv_summary.json

``run`` trains and tests every fold and writes ``cv_summary.json`` and ``cv_summary.md``
(mean +/- sample std over folds of every reported metric). Fold k is selected with
``--cfg-options fold=k``: the configs write their split paths as ``{fold}`` templates
(``splits/fold{fold}_train.txt``, ``annotations/fold{fold}_test.json`` and the COCO
evaluators' files), which mmengine_plugins.config.resolve_fold fills in, so every path of the run names fold k.
A config whose dataloader or evaluator ``ann_file`` has no template is refused: ``fold=k``
would not change what it reads. Default folds: every fold the data root holds (the test
split files fold0, fold1, ... until one is missing), else 0-4.
Each fold tests the checkpoint that scored best on the fold's validation split.
Segmentation (mmseg) configs report the nucleus metrics (``mDice`` ...), detection (mmdet)
configs COCO AP (``segm_mAP`` ...); ``--subset-prefixes d1 d2`` (mmseg only) also scores
the images whose file names start with each prefix separately (e.g. the two WBC sub-datasets).

A fold's ``test_metrics.json`` is reused only when ``cv_fingerprint.json`` beside it matches
exactly (config path, sha256 of the config file, sha256 of the effective config after
options, the options, the fold); otherwise the fold's old directory is moved aside and the
fold is trained again, so results of another config or other options are never mixed in.

``compare`` runs the independent two-sample Student t-test (equal variances) over the fold
values, the test that reproduces the paper's Table 4 (spec 000 §6.1).
"""
import argparse

from hemaseg.cross_validation import print_comparison
from mmengine_plugins.cross_validation import run_cross_validation, run_options_of


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('config')
    r.add_argument('--folds', type=int, nargs='+',
                   help='folds to run (default: every fold whose test split exists under the data root, else 0-4)')
    r.add_argument('--work-dir')
    r.add_argument('--cfg-options', nargs='+', default=[])
    r.add_argument('--parallel', type=int, default=1,
                   help='folds trained at the same time (one GPU runs several small trainings; default 1)')
    r.add_argument('--amp', choices=['fp16', 'bf16'], help='mixed precision of tools/train.py and tools/test.py')
    r.add_argument('--channels-last', action='store_true')
    r.add_argument('--cudnn-benchmark', action='store_true')
    r.add_argument('--workers', help="data-loader workers per fold, or auto (the cores shared among --parallel folds)")
    r.add_argument('--subset-prefixes', nargs='+', default=[],
                   help='also score images named <prefix>_* separately, e.g. d1 d2 for the WBC sub-datasets (mmseg)')
    c = sub.add_parser('compare')
    c.add_argument('a', help='cv_summary.json of the baseline (Group 1)')
    c.add_argument('b', help='cv_summary.json of the new model (Group 2)')
    args = ap.parse_args()

    if args.cmd == 'run':
        run_cross_validation(args.config, args.folds, args.work_dir, args.cfg_options, args.parallel,
                             run_options_of(args), args.subset_prefixes)
    else:
        print_comparison(args.a, args.b)


if __name__ == '__main__':
    main()
