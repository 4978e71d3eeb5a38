# Settings shared by benchmarks/cpu.sh, cpu_ablation.sh and cpu_converged.sh (sourced, not run):
# LastFM, hidden size 32, max length 20, batch 512, one thread per run, BUDGET seconds of training.
set -eu
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "${OUT:-cpu_results}" && cd "${OUT:-cpu_results}" && pwd)
BUDGET=${BUDGET:-300}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
small=(--set gpu_id="''" --set hidden_size=32 --set inner_size=64 --set MAX_ITEM_LIST_LENGTH=20
       --set train_batch_size=512 --set eval_batch_size=512)
