#!/usr/bin/env python
"""Convert C-NMC 2019 (ISBI 2019 normal vs malignant B-ALL cells, TCIA doi:10.7937/tcia.2019.dc64i46r)
into MMPretrain's CustomDataset layout with subject-grouped or the official splits.

Example (from the repository root):
    python tools/dataset_converters/c_nmc_2019.py /path/to/C-NMC_Leukemia --out data/c_nmc_2019
    python tools/dataset_converters/c_nmc_2019.py /path/to/C-NMC_Leukemia --split-mode official \\
        --include-prelim-test --out data/c_nmc_2019_official
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from hemaseg.data.c_nmc_2019 import SPLIT_MODES, convert_c_nmc_2019
from hemaseg.data.classification import verify_classification_dataset
from hemaseg.data.duplicates import add_near_dup_options, near_dup_distance_of
from hemaseg.data.io import run_cli
from hemaseg.data.splits import FOLDS_HELP, NUM_CHUNKS, NUM_FOLDS


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""input:
  <src>/training_data/fold_{0,1,2}/{all,hem}/UID_<subject>_<image>_<cell>_<all|hem>.bmp; with
  --include-prelim-test also <src>/validation_data/C-NMC_test_prelim_phase_data/*.bmp and
  C-NMC_test_prelim_phase_data_labels.csv (Patient_ID,new_names,labels; 1 all, 0 hem). testing_data/ is
  unlabelled and ignored. <src> may also be the folder holding C-NMC_Leukemia/.
output:
  images/{hem,all}/<file> (byte copies; prelim cells named by their Patient_ID), splits/all.txt and
  splits/fold{k}_{train,val,test}.txt with lines "<class>/<file> <label>" (hem 0, all 1), sources.csv
  (key,subject,official_fold,source), meta.json.
split modes:
  grouped (default): 5-chunk rotation stratified by class, each subject in one chunk.
  official: the official folds (+ the prelim set) are the chunks; fold k tests chunk k, validates on
  chunk k+1, trains on the rest.""")
    p.add_argument('src', help='the C-NMC_Leukemia folder (holding training_data/)')
    p.add_argument('--out', default='data/c_nmc_2019', help='output folder (default: data/c_nmc_2019)')
    p.add_argument('--split-mode', choices=SPLIT_MODES, default='grouped',
                   help='grouped: subject-grouped 5-chunk rotation (default); official: rotate over the official folds')
    p.add_argument('--include-prelim-test', action='store_true',
                   help='add the labelled preliminary test set (validation_data); official mode: as a 4th chunk')
    p.add_argument('--seed', type=int, default=0, help='split seed of the grouped mode (default 0)')
    p.add_argument('--folds', type=int, choices=range(1, NUM_CHUNKS + 1), metavar='N',
                   help=FOLDS_HELP + f'. Default {NUM_FOLDS} for grouped; for official every official chunk '
                                     '(3, or 4 with --include-prelim-test), which is also the maximum')
    add_near_dup_options(p)
    args = p.parse_args(argv)
    if args.folds is None and args.split_mode == 'grouped':
        args.folds = NUM_FOLDS
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    convert_c_nmc_2019(args.src, args.out, split_mode=args.split_mode, num_folds=args.folds,
                       include_prelim_test=args.include_prelim_test, seed=args.seed,
                       near_dup_distance=near_dup_distance_of(args))
    verify_classification_dataset(args.out)
    print(f'splits verified; dataset ready in {args.out}')


if __name__ == '__main__':
    run_cli(main)
