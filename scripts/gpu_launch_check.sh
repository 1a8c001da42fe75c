#!/usr/bin/env bash
# The accelerate launches the README documents, run for real on one CUDA GPU with a tiny random Llama:
# DPO with LoRA under FSDP2 (the adapters-on warm-up in prefdata/train/startup.py), full-fine-tuning DPO
# under FSDP2 (a second, sharded reference model), and SFT then DPO from it under single_gpu.yaml.
# CI has no GPU; run this on a GPU machine after changing prefdata/train or train/accelerate.
#
#   scripts/gpu_launch_check.sh [OUT]   # OUT: a prefdata build; default: builds ../shared/data/hh-rlhf-harmless-test
#
# Needs a checkout (the tiny model comes from tests/support), prefdata with its train extra, and
# accelerate on PATH. Prints one line per launch (exit status, seconds, reward accuracy before -> after)
# and exits non-zero if any launch failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
WORK=$(mktemp -d -t prefdata-gpu-check-XXXXXX)
OUT=${1:-}
if [ -z "$OUT" ]; then
  OUT=$WORK/out
  python3 -m prefdata build ../shared/data/hh-rlhf-harmless-test "$OUT" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 2; }
fi
python3 - "$OUT" "$WORK/model" 2>"$WORK/model.log" <<'PY' || { cat "$WORK/model.log"; exit 2; }
"""A ~3M-parameter Llama (hidden 256, 4 layers) and a BPE tokenizer trained on the build's own text."""
import json, sys
from pathlib import Path
import polars as pl
from tests.support.tiny_model import make_tiny_llama
texts = []
for shard in sorted(Path(sys.argv[1], "data").glob("*.parquet")):
    frame = pl.read_parquet(shard).head(400)
    for column in ("prompt", "chosen", "rejected"):
        if column in frame.columns:
            texts += [json.dumps(value) for value in frame[column].to_list()]
make_tiny_llama(sys.argv[2], texts, hidden_size=256, layers=4)
PY
MODEL=$WORK/model
STEPS="--max-steps 30 --lr 1e-3 --batch-size 8 --max-length 512"
FAILED=0
launch() {  # NAME CONFIG STAGE ARGS...
  local name=$1 config=$2 stage=$3; shift 3
  local start=$SECONDS
  accelerate launch --config_file "train/accelerate/$config" --num_processes 1 -m prefdata train "$stage" \
    --data "$OUT" $STEPS --output "$WORK/$name" "$@" >"$WORK/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] || FAILED=1
  local eval
  eval=$(grep -m1 '^eval: reward accuracy' "$WORK/$name.log" || grep -m1 'done: train_loss' "$WORK/$name.log" || tail -1 "$WORK/$name.log")
  printf '%-26s rc=%d %4ds  %s\n' "$name" "$rc" $((SECONDS - start)) "$eval"
}
launch fsdp-dpo-lora fsdp.yaml dpo --model "$MODEL" --from-instruct --beta 0.1
launch fsdp-dpo-full fsdp.yaml dpo --model "$MODEL" --from-instruct --beta 0.1 --full
launch single-gpu-sft single_gpu.yaml sft --model "$MODEL"
launch single-gpu-dpo-from-sft single_gpu.yaml dpo --model "$WORK/single-gpu-sft" --beta 0.1
echo "logs and models: $WORK"
exit $FAILED
