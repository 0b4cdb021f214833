"""Clustering space analysis of a classifier's logits on a dataset split (spec 002 §2.6, Table 8).

    python tools/cluster_analysis.py CONFIG CHECKPOINT [--split test] [--out DIR] [--name MODEL]
        [--batch-size 8] [--ddof 0] [--device cpu] [--cfg-options KEY=VALUE ...]

Runs the model on every image of ``{split}_dataloader`` (test pipeline), keeps the raw logits
(before softmax) and true labels, and computes ``hemaseg.cluster_analysis.cluster_report``:
PCA to PC1/PC2, class centroids, pairwise centroid distances, per-class SD (RMS distance to
the centroid in the PC plane; the module doc gives every choice), SD Total and the Dist/SD ratio
``3 * Dist Total / SD Total``. Writes to DIR:

* ``cluster_table.md``: the Table 8 row of this model (``--name``, default the config name);
* ``cluster_report.json``: the same numbers plus counts, centroids, per-axis SDs, accuracy;
* ``logits.csv``: per image the path, true and predicted class, logits and PC1/PC2;
* ``cluster_scatter.png``: PC1/PC2 scatter coloured by true class, centroids marked (Fig. 7).
"""
import argparse

from mmpretrain_plugins.apis import SPLITS, add_model_args, cluster_analysis_split


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    ap.add_argument('--split', choices=SPLITS, default='test')
    ap.add_argument('--out', help='output folder (default: work_dirs/cluster_analysis/CONFIG_NAME)')
    ap.add_argument('--name', help='model name in the table (default: the config name)')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--ddof', type=int, choices=(0, 1), default=0, help='SD: 0 population (default), 1 sample')
    args = ap.parse_args(argv)
    cluster_analysis_split(args.config, args.checkpoint, args.split, args.out, args.name, args.batch_size, args.ddof,
                           args.device, args.cfg_options)


if __name__ == '__main__':
    main()
