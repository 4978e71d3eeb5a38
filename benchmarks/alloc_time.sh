#!/usr/bin/env bash
# BENCHMARKS.md section 2, "freed memory kept": one training step on an Amazon Beauty batch of 2048
# (benchmarks/step_profile.py: wall and CPU seconds, system seconds, minor page faults), with glibc's
# default allocator and with keep_freed_memory, for SASRec, DisenSeqRec and DisenSeqRec without the
# seq2seq term. Each (model, allocator) runs in its own process, as mallopt is process-wide and an
# earlier variant in the same process leaves the heap warm; the last run (its three lines) shows that
# order effect (DisenSeqRec once first and once after a padded SASRec, default allocator). One thread each.
#
#   DATA=../shared/data OUT=benchmarks/results/cpu-alloc bash benchmarks/alloc_time.sh
: "${OUT:=benchmarks/results/cpu-alloc}" "${THREADS:=1}"
source "$(dirname "$0")/beauty_common.sh"
common=(--dataset=amazon-beauty "--data_path=$CONVERTED" --gpu_id= --state=ERROR --train_batch_size=2048
        --MAX_ITEM_LIST_LENGTH=50 --warmup=3 --steps=5)
: > "$OUT/beauty.jsonl"
for keep in False True; do
  for variant in SASRec DisenSeqRec:s2s_weight=0.1 DisenSeqRec:s2s_weight=0.0; do  # 0.1: the default then
    python3 benchmarks/step_profile.py "${common[@]}" "--keep_freed_memory=$keep" "--variants=$variant" >> "$OUT/beauty.jsonl"
  done
done
python3 benchmarks/step_profile.py "${common[@]}" --keep_freed_memory=False \
  "--variants=DisenSeqRec:s2s_weight=0.1,SASRec:padding_free=False,DisenSeqRec:s2s_weight=0.1" >> "$OUT/beauty.jsonl"
