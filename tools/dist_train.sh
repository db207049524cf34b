#!/usr/bin/env bash
# Multi-process training with torchrun (GPU: NCCL; CPU-only machines: gloo).
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
CONFIG=$1
NPROC=$2
PORT=${PORT:-29500}
torchrun --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${@:3}"
