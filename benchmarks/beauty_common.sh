# Set-up shared by benchmarks/alloc_time.sh and padding_time.sh (sourced, not run): the data folder,
# the output folder (the caller sets OUT's default first), Amazon Beauty converted to RecBole's atomic
# files in CONVERTED, and THREADS threads (the caller sets its default first).
set -eu
DATA=$(cd "${DATA:-../shared/data}" && pwd)
OUT=$(mkdir -p "$OUT" && cd "$OUT" && pwd)
CONVERTED=${CONVERTED:-devdata}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
python3 benchmarks/convert.py "$DATA/amazon-beauty.txt" "$CONVERTED"
