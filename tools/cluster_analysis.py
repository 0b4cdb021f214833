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
import csv
import json
import os
import os.path as osp
import time

from mmpretrain_plugins.apis import SPLITS, Classifier, add_model_args, build_split, load_cls_config


def collect_logits(clf: Classifier, infos: list, batch_size: int):
    """``(N x K logits, N labels)`` of the images in ``infos`` (dataset infos with ``gt_label``)."""
    import numpy as np
    import torch

    logits, t0 = [], time.perf_counter()
    for start in range(0, len(infos), batch_size):
        chunk = infos[start:start + batch_size]
        items = []
        for info in chunk:
            try:
                items.append(clf.pipeline(dict(info)))
            except Exception as e:  # mmcv raises assorted errors on unreadable files
                raise SystemExit(f'error: cannot read or preprocess {info["img_path"]}: '
                                 f'{type(e).__name__}: {e}') from None
        with torch.no_grad():
            logits.append(clf.logits_model(clf.batch_inputs(items)).float().cpu().numpy())
        print(f'[{min(start + batch_size, len(infos))}/{len(infos)}] {time.perf_counter() - t0:.1f} s')
    labels = [info.get('gt_label') for info in infos]
    if any(v is None for v in labels):
        raise SystemExit('error: the split has images without a label (gt_label); the analysis groups by true class')
    return np.concatenate(logits), np.asarray(labels, int)


def scatter_plot(path: str, report: dict, labels, title: str) -> None:
    """PC1/PC2 scatter of every sample coloured by true class, with the centroids (x) labelled."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    coords = report['coords']
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    for c, name in enumerate(report['classes']):
        pts = coords[labels == c]
        (line, ) = ax.plot(pts[:, 0], pts[:, 1], 'o', ms=4, alpha=0.6, label=f'{name} (n={len(pts)})')
        cx, cy = report['centroids'][name]
        ax.plot(cx, cy, 'X', ms=12, color=line.get_color(), markeredgecolor='black')
        ax.annotate(name, (cx, cy), textcoords='offset points', xytext=(6, 6), fontsize=9, weight='bold')
    evr = report['explained_variance_ratio']
    ax.set_xlabel(f'PC1 ({100 * evr[0]:.1f} % of variance)')
    ax.set_ylabel(f'PC2 ({100 * evr[1]:.1f} % of variance)')
    ax.set_title(f'{title}\nDist total {report["dist_total"]:.2f}, SD total {report["sd_total"]:.2f}, '
                 f'ratio {report["ratio"]:.2f}', fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_args(ap)
    ap.add_argument('--split', choices=SPLITS, default='test')
    ap.add_argument('--out', help='output folder (default: work_dirs/cluster_analysis/CONFIG_NAME)')
    ap.add_argument('--name', help='model name in the table (default: the config name)')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--ddof', type=int, choices=(0, 1), default=0, help='SD: 0 population (default), 1 sample')
    args = ap.parse_args(argv)
    if args.batch_size < 1:
        raise SystemExit(f'error: --batch-size must be >= 1, got {args.batch_size}')

    from hemaseg.cluster_analysis import cluster_report, table8_markdown

    cfg = load_cls_config(args)
    name = args.name or osp.splitext(osp.basename(args.config))[0]
    out = args.out or osp.join('work_dirs', 'cluster_analysis', osp.splitext(osp.basename(args.config))[0])
    dataset, _ = build_split(cfg, args.split)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    clf = Classifier(cfg, args.checkpoint, args.device)
    clf.use_dataset_classes(dataset)
    print(f'{args.split} split: {len(infos)} images')
    logits, labels = collect_logits(clf, infos, args.batch_size)
    classes = clf.names_for(logits.shape[1])
    try:
        report = cluster_report(logits, labels, classes, ddof=args.ddof)
    except ValueError as e:
        raise SystemExit(f'error: {e}') from None
    preds = logits.argmax(axis=1)

    os.makedirs(out, exist_ok=True)
    table = table8_markdown({name: report})
    with open(osp.join(out, 'cluster_table.md'), 'w') as f:
        f.write(f'Prediction cluster analysis, {args.split} split ({len(labels)} images; spec 002 Table 8)\n\n')
        f.write(table)
    summary = {k: v for k, v in report.items() if k != 'coords'}
    summary.update(model=name, config=args.config, checkpoint=args.checkpoint, split=args.split,
                   accuracy=float((preds == labels).mean()))
    with open(osp.join(out, 'cluster_report.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    with open(osp.join(out, 'logits.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['image', 'true', 'predicted'] + [f'logit_{c}' for c in classes] + ['pc1', 'pc2'])
        for info, t, p, row, pc in zip(infos, labels, preds, logits, report['coords']):
            w.writerow([info['img_path'], classes[t], classes[p], *map(float, row), *map(float, pc)])
    scatter_plot(osp.join(out, 'cluster_scatter.png'), report, labels, f'{name} ({args.split})')
    print('\n' + table)
    print(f'accuracy {summary["accuracy"]:.4f}; written to {out}')


if __name__ == '__main__':
    main()
