#!/usr/bin/env bash
# BENCHMARKS.md section 4, "to early stopping": the CPU proxy of benchmarks/cpu.sh (LastFM, hidden
# size 32, max length 20, batch 512), but each run goes on until RecBole's early stopping (patience
# 10 on valid NDCG@10), with BUDGET only as a safety cap (default 1800 s). DisenSeqRec with 4 intentions
# (the default when these runs were made), without seq2seq, with the assignment-mass mask, with 2
# intentions (@k2, what shipped then), and SASRec, on two seeds (a third for all but the mass mask), two
# runs at a time with one thread each.
#
#   DATA=../shared/data OUT=cpu_converged bash benchmarks/cpu_converged.sh
BUDGET=${BUDGET:-1800}
source "$(dirname "$0")/cpu_common.sh"
mapfile -t pinned < <(pin4 DisenSeqRec DisenSeqRec@nos2s DisenSeqRec@mass; pin_s2s DisenSeqRec DisenSeqRec@mass DisenSeqRec@k2)
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" \
  --models DisenSeqRec,DisenSeqRec@nos2s,DisenSeqRec@mass,DisenSeqRec@k2,SASRec --seeds 2020,2021 \
  --budget "$BUDGET" --jobs 2 --out "$OUT" --no-progress "${small[@]}" \
  --set DisenSeqRec@nos2s:s2s_weight=0.0 --set DisenSeqRec@mass:s2s_mask=mass --set DisenSeqRec@k2:n_intents=2 "${pinned[@]}"
# A third seed for what ships and for SASRec, then for K 4 with and without the seq2seq term.
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" --models DisenSeqRec@k2,SASRec --seeds 2022 \
  --budget "$BUDGET" --jobs 2 --out "$OUT" --no-progress "${small[@]}" --set DisenSeqRec@k2:n_intents=2 \
  --set DisenSeqRec@k2:s2s_weight=0.1
mapfile -t pinned < <(pin4 DisenSeqRec DisenSeqRec@nos2s; pin_s2s DisenSeqRec)
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" --models DisenSeqRec,DisenSeqRec@nos2s --seeds 2022 \
  --budget "$BUDGET" --jobs 2 --out "$OUT" --no-progress "${small[@]}" --set DisenSeqRec@nos2s:s2s_weight=0.0 "${pinned[@]}"
python3 -m recbole_disen.bench --report-only --out "$OUT"
# the checkpoints stay in $OUT/checkpoints: a rerun continues an interrupted run from them
