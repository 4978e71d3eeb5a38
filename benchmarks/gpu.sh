#!/usr/bin/env bash
# The side-by-side GPU benchmark in BENCHMARKS.md: DisenSeqRec against SASRec and BERT4Rec on Amazon
# Beauty, Sports, Toys and Yelp (one-line-per-user files, converted on the fly), plus four
# DisenSeqRec variants on Beauty and Toys, all runs at once on one GPU, each cut by a time budget.
# Before them, alone on the GPU, a per-step timing of SASRec and DisenSeqRec variants on Beauty, with
# and without padding-free batches (which every run below uses: the default).
# Then a mixed-precision run and a one-process distributed (DDP, NCCL) run on LastFM.
#
#   DATA=../shared/data OUT=gpu_results BUDGET=240 SEEDS=2020 bash benchmarks/gpu.sh
#
# Run it from the repository root with recbole_disen importable. EXTRA adds bench arguments and
# EXTRA_SETTINGS step-profile settings (for example EXTRA="--set epochs=1 --set hidden_size=8"
# EXTRA_SETTINGS="--gpu_id= --hidden_size=8 --steps=1" for a quick dry run on a CPU).
set -u  # not -e: one failing part must not stop the others
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "${OUT:-gpu_results}" && cd "${OUT:-gpu_results}" && pwd)
BUDGET=${BUDGET:-240}
SEEDS=${SEEDS:-2020}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
read -r -a extra <<< "${EXTRA:-}"
read -r -a extra_settings <<< "${EXTRA_SETTINGS:-}"  # --key=value settings for the step profile
common=(--seeds "$SEEDS" --budget "$BUDGET" --out "$OUT" --no-progress --set BERT4Rec:eval_step=3 "${extra[@]}")
variants=(
  --set DisenSeqRec@faithful:s2s_weight=1.0 --set DisenSeqRec@faithful:score_last=False
  --set DisenSeqRec@faithful:future_max_len=None --set DisenSeqRec@faithful:n_intents=4
  --set DisenSeqRec@s2s:s2s_weight=0.1
  --set DisenSeqRec@k4:n_intents=4
  --set DisenSeqRec@mass:s2s_weight=0.1 --set DisenSeqRec@mass:s2s_mask=mass
)
# First, alone on the GPU: one training step per variant on one Beauty batch (where the epoch time goes).
# The bench reuses the converted file in $OUT/data.
python3 benchmarks/convert.py "$DATA/amazon-beauty.txt" "$OUT/data"
timeout "${PROFILE_TIMEOUT:-120}" python3 benchmarks/step_profile.py --dataset=amazon-beauty "--data_path=$OUT/data" \
  --state=ERROR --steps=20 --warmup=3 "${extra_settings[@]}" \
  --variants="SASRec:padding_free=False,SASRec,DisenSeqRec:padding_free=False,DisenSeqRec,DisenSeqRec:s2s_weight=0.1,DisenSeqRec:n_intents=1,DisenSeqRec:n_intents=4,DisenSeqRec:s2s_weight=0.1:s2s_mask=mass,DisenSeqRec:s2s_weight=0.1:future_max_len=None" \
  > "$OUT/step_profile.jsonl" 2> "$OUT/step_profile.log"; echo "step_profile exit $?" >> "$OUT/step_profile.log"

timeout "${BENCH_TIMEOUT:-420}" python3 -m recbole_disen.bench --datasets "$DATA/amazon-beauty.txt,$DATA/amazon-toys.txt" --jobs 14 \
  --models DisenSeqRec,DisenSeqRec@faithful,DisenSeqRec@s2s,DisenSeqRec@k4,DisenSeqRec@mass,SASRec,BERT4Rec \
  "${common[@]}" "${variants[@]}" > "$OUT/bench-beauty-toys.log" 2>&1 &
timeout "${BENCH_TIMEOUT:-420}" python3 -m recbole_disen.bench --datasets "$DATA/amazon-sports.txt,$DATA/yelp.txt" --jobs 6 \
  --models DisenSeqRec,SASRec,BERT4Rec "${common[@]}" > "$OUT/bench-sports-yelp.log" 2>&1 &

# Mixed precision and distributed training, on LastFM, beside the benchmark.
python3 benchmarks/convert.py "$DATA/lastfm.txt" "$OUT/checks"
checks=(--dataset=lastfm "--data_path=$OUT/checks" --epochs=3 --show_progress=False "--checkpoint_dir=$OUT/checks/saved")
(cd "$OUT" && timeout 240 python3 -c "import sys; from recbole_disen.cli import main; sys.exit(main(sys.argv[1:]))" \
  "${checks[@]}" --enable_amp=True --s2s_weight=1.0 > amp.log 2>&1; echo "amp exit $?" >> amp.log) &
(cd "$OUT" && timeout 240 python3 -c "import sys; from recbole_disen.cli import main; sys.exit(main(sys.argv[1:]))" \
  "${checks[@]}" --nproc=1 --world_size=1 --port=29517 > ddp.log 2>&1; echo "ddp exit $?" >> ddp.log) &
wait
python3 -m recbole_disen.bench --report-only --out "$OUT"
# The model files stay in $OUT/checkpoints and $OUT/checks/saved (a rerun continues an interrupted run);
# to bring the results back from a lent machine, copy all of $OUT but those two folders.
