#!/usr/bin/env bash
# BENCHMARKS.md section 2 (issue 9): one full training epoch and one full-ranking validation pass,
# with and without padding-free batches, for SASRec and DisenSeqRec, on Amazon Beauty (short rows)
# and ml-100k (long rows). Batch 2048, max length 50, 2 CPU threads, one variant after the other.
#
#   DATA=../shared/data OUT=benchmarks/results/cpu-padding bash benchmarks/padding_time.sh
: "${OUT:=benchmarks/results/cpu-padding}" "${THREADS:=2}"
source "$(dirname "$0")/beauty_common.sh"
# DisenSeqRec with the seq2seq term at 0.1, the default when the recorded figures were measured
variants="SASRec:padding_free=False,SASRec,DisenSeqRec:padding_free=False:s2s_weight=0.1,DisenSeqRec:s2s_weight=0.1"
common=(--gpu_id= --state=ERROR --train_batch_size=2048 --eval_batch_size=2048 --MAX_ITEM_LIST_LENGTH=50 "--variants=$variants")
python3 benchmarks/epoch_time.py --dataset=amazon-beauty "--data_path=$CONVERTED" "${common[@]}" > "$OUT/beauty.jsonl"
python3 benchmarks/epoch_time.py --dataset=ml-100k "${common[@]}" > "$OUT/ml-100k.jsonl"
