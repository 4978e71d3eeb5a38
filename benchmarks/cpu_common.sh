# Settings shared by benchmarks/cpu.sh, cpu_ablation.sh and cpu_converged.sh (sourced, not run):
# LastFM, hidden size 32, max length 20, batch 512, one thread per run, BUDGET seconds of training.
set -eu
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "${OUT:-cpu_results}" && cd "${OUT:-cpu_results}" && pwd)
BUDGET=${BUDGET:-300}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# The runs recorded in BENCHMARKS.md used n_intents 4, the default until 2 replaced it: pin4 LABEL...
# gives the --set arguments that keep those labels at 4, so the scripts reproduce what was recorded.
pin4() { for label in "$@"; do printf -- '--set\n%s:n_intents=4\n' "$label"; done; }
# They also ran with the seq2seq term at 0.1, the default until 0 replaced it: pin_s2s LABEL... keeps
# those labels (the ones that do not set s2s_weight themselves) at 0.1.
pin_s2s() { for label in "$@"; do printf -- '--set\n%s:s2s_weight=0.1\n' "$label"; done; }
small=(--set gpu_id="''" --set hidden_size=32 --set inner_size=64 --set MAX_ITEM_LIST_LENGTH=20
       --set train_batch_size=512 --set eval_batch_size=512)
