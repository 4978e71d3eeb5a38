#!/usr/bin/env bash
# The small CPU benchmark in BENCHMARKS.md (a proxy for direction only; the GPU table is gpu.sh):
# LastFM, hidden size 32, max length 20, batch 512, each run cut at BUDGET seconds of training.
# DisenSeqRec, SASRec and BERT4Rec on two seeds, two runs at a time with one thread each (16 minutes).
# benchmarks/cpu_ablation.sh adds the DisenSeqRec variants to the same folder.
#
#   DATA=../shared/data OUT=cpu_results BUDGET=300 bash benchmarks/cpu.sh
source "$(dirname "$0")/cpu_common.sh"
mapfile -t pinned < <(pin4 DisenSeqRec; pin_s2s DisenSeqRec)
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" --models DisenSeqRec,SASRec,BERT4Rec \
  --seeds 2020,2021 --budget "$BUDGET" --jobs 2 --out "$OUT" --no-progress "${small[@]}" --set BERT4Rec:eval_step=3 "${pinned[@]}"
python3 -m recbole_disen.bench --report-only --out "$OUT"
# the checkpoints stay in $OUT/checkpoints: a rerun continues an interrupted run from them
