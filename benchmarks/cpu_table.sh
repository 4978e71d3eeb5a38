#!/usr/bin/env bash
# BENCHMARKS.md section 5, "the real table on the CPU" (issue 13): Amazon Beauty and Toys at the
# standard settings (hidden size 64, max length 50, batch 2048, RecBole's defaults otherwise, patience
# 10 on valid NDCG@10, no time budget), padding-free batches, two runs at a time with one thread each.
# It grows in pieces: PIECE selects which runs (a bench re-run skips finished runs and resumes nothing
# else), and each finished run's JSON lands in $OUT/runs/ to be committed.
#
#   PIECE=beauty-2020 OUT=cpu_table bash benchmarks/cpu_table.sh
set -eu
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "${OUT:-cpu_table}" && cd "${OUT:-cpu_table}" && pwd)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
full=(--set gpu_id="''" --set train_batch_size=2048 --set eval_batch_size=2048 --jobs 2 --out "$OUT" --no-progress)
case "${PIECE:-beauty-2020}" in
  beauty-2020) python3 -m recbole_disen.bench --datasets "$DATA/amazon-beauty.txt" --models DisenSeqRec,SASRec \
                 --seeds 2020 "${full[@]}" ;;
  beauty-2020-nos2s) python3 -m recbole_disen.bench --datasets "$DATA/amazon-beauty.txt" --models DisenSeqRec@nos2s \
                 --seeds 2020 --set DisenSeqRec@nos2s:s2s_weight=0.0 "${full[@]}" ;;
  *) echo "unknown PIECE ${PIECE}" >&2; exit 2 ;;
esac
