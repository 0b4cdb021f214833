#!/usr/bin/env bash
# The README's first command: install, then train MSFF-SegNeXt on the embedded synthetic
# dataset, evaluate it (Dice / IoU / accuracy / precision / recall) and write contour
# overlays. About 10-13 minutes on 2 CPU cores after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PY=.venv/bin/python
CONFIG=configs/msff_segnext/msff-segnext_mscan-t_1xb8-600it_synthetic-128x128.py
WORK=${WORK_DIR:-work_dirs/demo}
DATA=data/synthetic_nucleus
if [ ! -f "$DATA/meta.json" ]; then
    $PY tools/dataset_converters/make_synthetic.py --out "$DATA"
fi
rm -rf "$WORK"  # a fresh run, so the best checkpoint below is this run's
$PY tools/train.py "$CONFIG" --work-dir "$WORK" "$@"
CKPT=$(ls "$WORK"/best_*.pth | head -n 1)  # model selected on the validation split
$PY tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" \
    --overlay-dir "$WORK/overlays" --per-image-csv "$WORK/per_image.csv"
echo "overlays of predicted (yellow) and ground-truth (green) nucleus contours: $WORK/overlays/"
