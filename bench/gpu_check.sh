#!/usr/bin/env bash
# GPU figures in one short run on a bare machine (Python, torch, torchvision, transformers;
# no network, database or broker). See docs/gpu-check.md.
#   bash bench/gpu_check.sh --fetch-wheels  # where the package index is reachable: fills .whl/
#   bash bench/gpu_check.sh                 # on the GPU machine; JSON to $OUT/gpu_check.json
#   bash bench/gpu_check.sh --cpu-smoke     # the same code path with tiny shapes on a CPU
# PYTHON picks the interpreter (default python3); GPU_CHECK_TIMEOUT bounds the run (seconds).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHEELS=$ROOT/.whl
PYTHON=${PYTHON:-python3}
REQUIREMENTS=$ROOT/bench/gpu_wheels.txt
MAX_MIB=64

fetch_wheels() {
    mkdir -p "$WHEELS"
    for version in 3.11 3.12 3.13; do  # pure wheels land once; regex once per Python
        "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$WHEELS" \
            --python-version "$version" --platform manylinux2014_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
            -r "$REQUIREMENTS"
    done
    local data
    for data in "${NJ_CLIP_DISSECT_DATA:-}" "$ROOT/../shared/data/clip-dissect" \
        "$ROOT/shared/data/clip-dissect"; do
        if [[ -f $data/concept_sets/10k.txt ]]; then  # the labels and concept set travel too
            mkdir -p "$WHEELS/data/clip-dissect/concept_sets" "$WHEELS/data/clip-dissect/results"
            cp "$data/concept_sets/10k.txt" "$WHEELS/data/clip-dissect/concept_sets/"
            cp "$data/results/clip_dissect_resnet50_imagenet_broden.csv" \
                "$WHEELS/data/clip-dissect/results/"
            break
        fi
    done
    ls -l "$WHEELS"
    local mib=$(( $(du -sk "$WHEELS" | cut -f1) / 1024 ))
    echo "$WHEELS: ${mib} MiB"
    if (( mib >= MAX_MIB )); then
        echo "gpu_check: $WHEELS is over ${MAX_MIB} MiB" >&2
        exit 1
    fi
}

# Install, with --no-deps and without the index, only what this Python cannot import yet,
# into a folder of its own that goes on PYTHONPATH.
install_missing() {
    local missing=() line name module target
    target=$ROOT/bench/out/gpu-site-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    export PYTHONPATH=$target${PYTHONPATH:+:$PYTHONPATH}
    while read -r line; do
        [[ -z $line || $line == \#* ]] && continue
        name=${line%%==*}
        case $name in open_clip_torch) module=open_clip ;; *) module=$name ;; esac
        "$PYTHON" -c "import $module" 2>/dev/null || missing+=("$line")
    done < "$REQUIREMENTS"
    (( ${#missing[@]} )) || return 0
    if [[ ! -d $WHEELS ]]; then
        echo "gpu_check: missing ${missing[*]} and no $WHEELS folder;" \
            "run 'bash bench/gpu_check.sh --fetch-wheels' where the package index is reachable" \
            "and copy .whl/ along with the checkout" >&2
        exit 1
    fi
    "$PYTHON" -m pip install -q --no-index --no-deps --find-links "$WHEELS" --target "$target" \
        --upgrade "${missing[@]}"
}

if [[ ${1:-} == --fetch-wheels ]]; then
    fetch_wheels
    exit 0
fi
install_missing
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec timeout "${GPU_CHECK_TIMEOUT:-480}" "$PYTHON" "$ROOT/bench/gpu_check.py" "$@"
