#!/usr/bin/env bash
# The ablation of BENCHMARKS.md section 4 (CPU proxy, direction only), beside benchmarks/cpu.sh:
# LastFM, hidden size 32, max length 20, batch 512, each run cut at BUDGET seconds of training.
# six DisenSeqRec variants on one seed, two runs at a time with one thread each (21 minutes).
#
#   DATA=../shared/data OUT=cpu_results BUDGET=300 bash benchmarks/cpu_ablation.sh
source "$(dirname "$0")/cpu_common.sh"
mapfile -t pinned < <(pin4 DisenSeqRec@faithful DisenSeqRec@nos2s DisenSeqRec@nolast DisenSeqRec@future20 \
  DisenSeqRec@symmetric DisenSeqRec@sharedbias
  pin_s2s DisenSeqRec@nolast DisenSeqRec@future20 DisenSeqRec@symmetric DisenSeqRec@sharedbias)
python3 -m recbole_disen.bench --datasets "$DATA/lastfm.txt" \
  --models DisenSeqRec@faithful,DisenSeqRec@nos2s,DisenSeqRec@nolast,DisenSeqRec@future20,DisenSeqRec@symmetric,DisenSeqRec@sharedbias \
  --seeds 2020 \
  --budget "$BUDGET" --jobs 2 \
  --out "$OUT" --no-progress "${small[@]}" \
  --set DisenSeqRec@faithful:s2s_weight=1.0 --set DisenSeqRec@faithful:score_last=False \
  --set DisenSeqRec@faithful:future_max_len=None --set DisenSeqRec@nos2s:s2s_weight=0.0 "${pinned[@]}" \
  --set DisenSeqRec@nolast:score_last=False --set DisenSeqRec@future20:future_max_len=20 \
  --set DisenSeqRec@symmetric:s2s_symmetric=True --set DisenSeqRec@sharedbias:share_bias=True
python3 -m recbole_disen.bench --report-only --out "$OUT"
# the checkpoints stay in $OUT/checkpoints: a rerun continues an interrupted run from them
