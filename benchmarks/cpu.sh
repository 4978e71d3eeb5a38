#!/usr/bin/env bash
# The small CPU benchmark in BENCHMARKS.md (a proxy for direction only; the GPU table is gpu.sh):
# LastFM, hidden size 32, max length 20, batch 512, each run cut at BUDGET seconds of training.
# DisenSeqRec, SASRec and BERT4Rec on two seeds, two runs at a time with one thread each (16 minutes).
# benchmarks/cpu_ablation.sh adds the DisenSeqRec variants to the same folder.
#
#   DATA=../shared/data OUT=cpu_results BUDGET=300 bash benchmarks/cpu.sh
set -eu
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "${OUT:-cpu_results}" && cd "${OUT:-cpu_results}" && pwd)
BUDGET=${BUDGET:-300}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
small=(--set gpu_id="''" --set hidden_size=32 --set inner_size=64 --set MAX_ITEM_LIST_LENGTH=20
       --set train_batch_size=512 --set eval_batch_size=512)
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" --models DisenSeqRec,SASRec,BERT4Rec \
  --seeds 2020,2021 --budget "$BUDGET" --jobs 2 --out "$OUT" --no-progress "${small[@]}" --set BERT4Rec:eval_step=3
python3 -m recbole_disen.bench --report-only --out "$OUT"
rm -rf "$OUT/checkpoints"
