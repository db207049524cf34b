#!/usr/bin/env bash
# Multi-process testing with torchrun (GPU: NCCL; CPU-only machines: gloo, set up by
# tools/test.py as for training): each process generates its share of the test set, the
# metrics are gathered and computed once, and rank 0 prints them (and writes --out).
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT PROCESSES_PER_NODE [test.py options]
#   CHECKPOINT '' or none: the weights the config names (zero-shot)
#   several machines: NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_test.sh ...
# The metrics equal a one-process run's when every video gets the same noise in both: each
# batch is seeded by its first sample (VidRD.predict), so keep test_dataloader.batch_size=1
# (--cfg-options test_dataloader.batch_size=1) for equal numbers; larger batches give other,
# equally valid draws.
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-${PORT:-29500}}
if [ -z "$CHECKPOINT" ] || [ "$CHECKPOINT" = none ]; then
    CHECKPOINT_ARG=()
else
    CHECKPOINT_ARG=("$CHECKPOINT")
fi
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
torchrun --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$MASTER_PORT" \
    "$(dirname "$0")/test.py" "$CONFIG" "${CHECKPOINT_ARG[@]}" --launcher pytorch "${@:4}"
