#!/usr/bin/env bash
# The two GPU protocols of the project on one GPU, within a time budget, from raw data:
#
#   bash tools/gpu_protocol.sh --data /path/to/raw [--out work_dirs/gpu_protocol] [--seg-minutes 10] \
#        [--det-minutes 15] [--amp bf16|fp16|none] [--parts seg det] [--seg-iters 4000] [--folds "0 1 2 3 4"] \
#        [--det-iters N]   (--seg-iters / --folds / --det-iters shorten the protocol, e.g. to check it on a CPU)
#
# --data holds wbc_zheng2018/ (as ../shared/data does); it is converted on the node (5 folds, near-duplicates
# grouped). Then:
#   seg  the WBC protocol: MSFF-SegNeXt and SegNeXt-T, 5 folds each, the 256-px 4,000-iteration schedule, all ten
#        trainings at once (tools/cross_validate.py run --parallel 5, two of them side by side); per fold the
#        checkpoint best on validation is tested. Then the fold t-test (cross_validate.py compare) and the paired
#        per-image comparison over all 5 test folds (every image tested once; tools/compare.py).
#   det  the six instance-segmentation configs (YOLACT-R50, YOLACT-CIS, Mask R-CNN, R-Mask R-CNN and the two
#        ablations) through their full Detectron2 schedules on fold 0, all at once, then each one's test AP.
# Every part runs under `timeout` (its minutes); OUT/summary.md collects wall times, results and the logs' paths.
# Needs the environment of tools/setup_env.sh (Detectron2 built with FORCE_CUDA=1 for the det part).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA= OUT=work_dirs/gpu_protocol SEG_MIN=10 DET_MIN=15 AMP=bf16 PARTS=(seg det) SEG_ITERS=4000 FOLDS="0 1 2 3 4" DET_ITERS=
ARGS=("$@")
while [ $# -gt 0 ]; do
    case "$1" in
        --data) DATA=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --seg-minutes) SEG_MIN=$2; shift 2 ;;
        --det-minutes) DET_MIN=$2; shift 2 ;;
        --amp) AMP=$2; shift 2 ;;
        --seg-iters) SEG_ITERS=$2; shift 2 ;;
        --folds) FOLDS=$2; shift 2 ;;
        --det-iters) DET_ITERS=$2; shift 2 ;;
        --parts) shift; PARTS=(); while [ $# -gt 0 ] && [[ "$1" != --* ]]; do PARTS+=("$1"); shift; done ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$DATA" ] && [ -d "$DATA/wbc_zheng2018" ] || { echo "error: --data must be a folder holding wbc_zheng2018/ (got '${DATA}')" >&2; exit 2; }
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUMMARY="$OUT/summary.md"
log() { printf '[gpu_protocol %s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/protocol.log"; }
amp_seg=(); amp_det=()
[ "$AMP" != none ] && amp_seg=(--amp "$AMP") && amp_det=(SOLVER.AMP.ENABLED True SOLVER.AMP.PRECISION "$([ "$AMP" = bf16 ] && echo bfloat16 || echo float16)")
{
    echo "# GPU protocol run"
    echo
    echo "- command: \`bash tools/gpu_protocol.sh ${ARGS[*]}\`"
    echo "- $(date '+%Y-%m-%d %H:%M'), $("$PY" -c 'import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU", "| torch", torch.__version__)'), $(nproc) cores"
} > "$SUMMARY"

start=$SECONDS
log "converting $DATA/wbc_zheng2018 (nucleus masks and COCO instances, 5 folds) ..."
[ -f "$OUT/data/wbc_nucleus/meta.json" ] || "$PY" tools/dataset_converters/wbc_zheng2018.py "$DATA/wbc_zheng2018" --out "$OUT/data/wbc_nucleus" > "$OUT/convert.log"
[ -f "$OUT/data/wbc_coco/meta.json" ] || "$PY" tools/dataset_converters/coco_instances.py wbc "$DATA/wbc_zheng2018" --out "$OUT/data/wbc_coco" >> "$OUT/convert.log"
echo "- data converted in $((SECONDS - start)) s" >> "$SUMMARY"

# Wait for the pids, then write a section heading and its wall time and exit status to the summary.
# Arguments: start time (SECONDS), budget (minutes), heading, pids...
finish_part() {
    local t0=$1 budget=$2 heading=$3 rc=0 pid
    shift 3
    for pid in "$@"; do wait "$pid" || rc=$?; done
    local wall=$((SECONDS - t0))
    printf '\n## %s\n\n- wall time: %s s (%s min; budget %s min), exit status %s\n' "$heading" "$wall" \
        "$(awk "BEGIN {printf \"%.1f\", $wall / 60}")" "$budget" "$rc" >> "$SUMMARY"
    log "$heading: done in $wall s (exit $rc)"
}

run_seg() {
    local t0=$SECONDS data=(train_dataloader.dataset.data_root="$OUT/data/wbc_nucleus" val_dataloader.dataset.data_root="$OUT/data/wbc_nucleus" test_dataloader.dataset.data_root="$OUT/data/wbc_nucleus")
    local warm=$((SEG_ITERS / 10 > 0 ? SEG_ITERS / 10 : 1)) every=$((SEG_ITERS / 8 > 0 ? SEG_ITERS / 8 : 1))
    local sched=(train_cfg.max_iters="$SEG_ITERS" "param_scheduler.0.end=$warm" "param_scheduler.1.begin=$warm" "param_scheduler.1.end=$SEG_ITERS" train_cfg.val_interval="$every")
    log "WBC protocol: MSFF-SegNeXt and SegNeXt-T, 5 folds each, $SEG_ITERS iterations, all at once (budget $SEG_MIN min)"
    local pids=() name config
    for name in msff-segnext segnext-t; do
        config=configs/msff_segnext/msff-segnext_mscan-t_1xb8-4k_wbc-256x256.py
        [ $name = segnext-t ] && config=configs/segnext/segnext_mscan-t_1xb8-4k_wbc-256x256.py
        # shellcheck disable=SC2086  (FOLDS is a list of numbers)
        timeout "$((SEG_MIN * 60))" "$PY" tools/cross_validate.py run "$config" --folds $FOLDS --parallel "$(wc -w <<< "$FOLDS")" \
            "${amp_seg[@]}" --cudnn-benchmark --workers auto --work-dir "$OUT/seg/$name" \
            --cfg-options "${data[@]}" "${sched[@]}" > "$OUT/seg_$name.log" 2>&1 &
        pids+=($!)
    done
    finish_part "$t0" "$SEG_MIN" "WBC protocol (folds $FOLDS x MSFF-SegNeXt and SegNeXt-T, $SEG_ITERS iterations, 256 px, amp $AMP)" "${pids[@]}"
    for name in msff-segnext segnext-t; do
        [ -f "$OUT/seg/$name/cv_summary.md" ] && { echo; echo "### $name"; echo; cat "$OUT/seg/$name/cv_summary.md"; } >> "$SUMMARY"
    done
    if [ -f "$OUT/seg/msff-segnext/cv_summary.json" ] && [ -f "$OUT/seg/segnext-t/cv_summary.json" ]; then
        { echo; echo '### Fold t-test (SegNeXt-T = group 1, MSFF-SegNeXt = group 2)'; echo
          "$PY" tools/cross_validate.py compare "$OUT/seg/segnext-t/cv_summary.json" "$OUT/seg/msff-segnext/cv_summary.json"; } >> "$SUMMARY" 2>&1
        for name in msff-segnext segnext-t; do  # every image is in exactly one fold's test split
            "$PY" - "$OUT/seg/$name" > "$OUT/seg/$name/per_image_all_folds.csv" <<'EOF'
import csv, glob, sys
rows = [r for p in sorted(glob.glob(f'{sys.argv[1]}/fold*/per_image.csv')) for r in csv.DictReader(open(p))]
w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
w.writeheader()
w.writerows(rows)
EOF
        done
        { echo; echo "### Paired per-image comparison over the test splits of folds $FOLDS"; echo
          "$PY" tools/compare.py "$OUT/seg/segnext-t/per_image_all_folds.csv" "$OUT/seg/msff-segnext/per_image_all_folds.csv" \
              --names SegNeXt-T MSFF-SegNeXt --out "$OUT/seg/compare.json"; } >> "$SUMMARY" 2>&1
    fi
}

# The Detectron2 YAML of a config stem: configs/<family>/detectron2/<stem>.yaml.
det2_config() { ls configs/*/detectron2/"$1".yaml; }

run_det() {
    local t0=$SECONDS configs=(yolact_r50_fpn_1xb16-12k_wbc-550 yolact-cis_ghost-r50-s4_dffn-ddam_1xb16-12k_wbc-550 mask-rcnn_r50_fpn_1xb4-12k_wbc-512
                               r-mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512 mask-rcnn_r50_bu-ca-sa-fpn_1xb4-12k_wbc-512 mask-rcnn_r50_fpn_fusion-mask-head_1xb4-12k_wbc-512)
    log "Detectron2: ${#configs[@]} configs, full schedules on fold 0, all at once (budget $DET_MIN min)"
    local pids=() c
    for c in "${configs[@]}"; do
        timeout "$((DET_MIN * 60))" "$PY" tools/det2_train_net.py --config-file "$(det2_config "$c")" \
            DATASETS.COCO_ROOT "$OUT/data/wbc_coco" DATASETS.TEST '("wbc_coco_fold0_val",)' DATALOADER.NUM_WORKERS 2 \
            "${amp_det[@]}" ${DET_ITERS:+SOLVER.MAX_ITER $DET_ITERS} OUTPUT_DIR "$OUT/det/$c" > "$OUT/det_$c.log" 2>&1 &
        pids+=($!)
    done
    finish_part "$t0" "$DET_MIN" "Detectron2 instance segmentation, fold 0, full schedules (amp $AMP)" "${pids[@]}"
    {
        echo
        echo "| config | iterations done | fold-0 test mask AP | box AP |"
        echo "|---|---|---|---|"
    } >> "$SUMMARY"
    for c in "${configs[@]}"; do
        local iters ap=("-" "-")
        iters=$(grep -o '"iteration": [0-9]*' "$OUT/det/$c/metrics.json" 2>/dev/null | tail -n 1 | grep -o '[0-9]*$' || echo 0)
        if [ -f "$OUT/det/$c/model_final.pth" ]; then
            "$PY" tools/det2_train_net.py --config-file "$(det2_config "$c")" --eval-only \
                DATASETS.COCO_ROOT "$OUT/data/wbc_coco" DATASETS.TEST '("wbc_coco_fold0_test",)' \
                MODEL.WEIGHTS "$OUT/det/$c/model_final.pth" OUTPUT_DIR "$OUT/det/$c/test" > "$OUT/det_${c}_test.log" 2>&1 || true
            mapfile -t ap < <(grep -A 3 'Evaluation results for segm' "$OUT/det_${c}_test.log" | tail -n 1 | awk -F'|' '{print $2}'; \
                              grep -A 3 'Evaluation results for bbox' "$OUT/det_${c}_test.log" | tail -n 1 | awk -F'|' '{print $2}')
        fi
        echo "| $c | $((iters + 1)) | ${ap[0]:--} | ${ap[1]:--} |" >> "$SUMMARY"
    done
}

for part in "${PARTS[@]}"; do
    case "$part" in
        seg) run_seg ;;
        det) run_det ;;
        *) echo "error: --parts takes seg and/or det, got $part" >&2; exit 2 ;;
    esac
done
echo >> "$SUMMARY"
echo "- total wall time: $((SECONDS - start)) s; logs: $OUT/*.log" >> "$SUMMARY"
log "summary: $SUMMARY"
cat "$SUMMARY"
