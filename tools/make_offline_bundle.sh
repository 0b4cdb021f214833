#!/usr/bin/env bash
# Prepare, on a machine with network and this project's environment (tools/setup_env.sh), everything
# tools/setup_env.sh needs on a GPU node without network:
#
#   bash tools/make_offline_bundle.sh [--out offline_bundle] [--python-version 3.12] \
#       [--platform manylinux_2_28_x86_64] [--detectron2-source SRC] [--node-has requirements/gpu-node.txt]
#
# Writes OUT/wheels/ (every package of requirements/offline-bundle.txt, pinned, for the target Python and
# platform; packages published only as source are built here into pure-Python wheels), OUT/src/mmcv-2.1.0.tar.gz
# (built on the node, against its torch), OUT/src/detectron2-*.tar.gz (when --detectron2-source is given: a
# tarball, a clone or a git URL) and OUT/MANIFEST.txt (every file with its size and sha256). The node is assumed
# to have requirements/gpu-node.txt (a torch, numpy, scipy, OpenCV, matplotlib, scikit-learn, pandas, pytest ...):
# those are not downloaded. Then, on the node, from the repository root:
#
#   OFFLINE_BUNDLE=offline_bundle SYSTEM_SITE_PACKAGES=1 bash tools/setup_env.sh
#
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=offline_bundle
PYV=3.12
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)
D2=
LIST=requirements/offline-bundle.txt
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT=$2; shift 2 ;;
        --python-version) PYV=$2; shift 2 ;;
        --platform) PLATFORMS=("$2"); shift 2 ;;
        --detectron2-source) D2=$2; shift 2 ;;
        --list) LIST=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[[ "$PYV" =~ ^3\.[0-9]+$ ]] || { echo "error: --python-version $PYV: give major.minor, e.g. 3.12" >&2; exit 2; }
[ -f "$LIST" ] || { echo "error: $LIST does not exist" >&2; exit 2; }
# The project's environment (tools/setup_env.sh) by default: reading mmcv's source metadata runs its setup.py,
# which imports torch and pkg_resources (setuptools < 81).
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || command -v "$PY" >/dev/null || { echo "error: $PY not found: run tools/setup_env.sh first, or set PYTHON to an interpreter with torch and setuptools < 81" >&2; exit 2; }
abi="cp${PYV/./}"
mkdir -p "$OUT/wheels" "$OUT/src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
platform_args=()
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
mapfile -t pins < <(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$LIST")
n=${#pins[@]}
i=0
start=$SECONDS
for pin in "${pins[@]}"; do
    i=$((i + 1))
    if "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version "$PYV" \
            --implementation cp --abi "$abi" --abi abi3 --abi none "${platform_args[@]}" -d "$OUT/wheels" "$pin" \
            2>"$tmp/err"; then
        echo "[$i/$n] $pin: wheel"
        continue
    fi
    # Published as source only (e.g. fvcore, antlr4-python3-runtime): build a wheel here; it must be pure Python.
    rm -rf "$tmp/sdist" && mkdir -p "$tmp/sdist"
    if ! "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: -d "$tmp/sdist" "$pin" \
            2>>"$tmp/err"; then
        echo "error: $pin: no wheel for Python $PYV on ${PLATFORMS[*]} and no source distribution:" >&2
        tail -n 3 "$tmp/err" >&2
        exit 1
    fi
    "$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$tmp/built" "$tmp"/sdist/* >/dev/null
    built=$(ls "$tmp"/built/*.whl | tail -n 1)
    case "$(basename "$built")" in
        *-py3-none-any.whl|*-py2.py3-none-any.whl) mv "$built" "$OUT/wheels/"; echo "[$i/$n] $pin: built from source (pure Python)" ;;
        *) echo "error: $pin: only a source distribution, and it compiles ($(basename "$built")): build it on the node" >&2; exit 1 ;;
    esac
done
echo "mmcv 2.1.0 source (compiled on the node against its torch) ..."
"$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: --no-build-isolation -d "$OUT/src" mmcv==2.1.0
if [ -n "$D2" ]; then
    case "$D2" in
        git+*|http://*|https://*)
            "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary=:all: -d "$OUT/src" "$D2" ;;
        *.tar.gz|*.tgz|*.zip)
            [ -f "$D2" ] || { echo "error: --detectron2-source $D2: no such file" >&2; exit 2; }
            cp "$D2" "$OUT/src/" ;;
        *)
            [ -d "$D2/.git" ] || { echo "error: --detectron2-source $D2: not a tarball, git URL or git clone" >&2; exit 2; }
            git -C "$D2" archive --format=tar.gz --prefix=detectron2/ -o "$(cd "$OUT/src" && pwd)/detectron2-$(git -C "$D2" rev-parse --short=12 HEAD).tar.gz" HEAD ;;
    esac
fi
(cd "$OUT" && find wheels src -type f | sort | while read -r f; do
    printf '%s  %s  %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
done) > "$OUT/MANIFEST.txt"
total=$(du -sk "$OUT" | cut -f1)
echo "bundle ready in $OUT: $(wc -l < "$OUT/MANIFEST.txt") files, $((total / 1024)) MB, $((SECONDS - start)) s (MANIFEST.txt: sha256, bytes, file)"
echo "on the node: OFFLINE_BUNDLE=$OUT SYSTEM_SITE_PACKAGES=1 bash tools/setup_env.sh"
