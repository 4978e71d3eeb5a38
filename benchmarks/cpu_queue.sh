#!/usr/bin/env bash
# Runs cpu_table.sh pieces one after the other, from a list that may be edited while it runs: each
# line of LIST is a PIECE (see cpu_table.sh), taken from the top and removed when it starts; a
# piece that fails stops the queue and goes back to the top of LIST. A piece's log ($STATE/PIECE.log)
# is appended to, never replaced. Each piece runs a copy of cpu_table.sh taken when it starts, so that
# script may be edited meanwhile; edit this one by writing a new file and moving it over (as git does):
# a running queue reads on from its old copy. THREADS threads per run (default 1); with PID_WAIT, it
# starts once that process has ended. Two queues with THREADS=1 run two pieces at a time; one with
# THREADS=2 runs one (BENCHMARKS.md section 5 compares the two).
# STATE (default /work/cpu_table) holds the bench folder outside the work tree, which a new session
# lays anew; cpu_table/ in the repository links to it, so an interrupted run continues next time.
#
#   printf 'beauty-2022-sasrec\nbeauty-2022-disen\n' > /work/cpu_table/queue-a.txt
#   LIST=/work/cpu_table/queue-a.txt THREADS=2 nohup bash benchmarks/cpu_queue.sh &
set -u
: "${LIST:?set LIST to the file of pieces to run, one PIECE a line (see cpu_table.sh)}"
THREADS=${THREADS:-1}
[ -f "$LIST" ] || { echo "LIST $LIST is not a file: write the pieces into it first" >&2; exit 2; }
LIST=$(realpath "$LIST")  # before the cd below
cd "$(dirname "$0")/.."
python3 -c "import recbole_disen.config, torch, matplotlib" 2>/dev/null \
  || { echo "python3 here lacks recbole, torch or matplotlib: activate the environment the README installs, then start the queue again" >&2; exit 2; }
STATE=${STATE:-/work/cpu_table}
mkdir -p "$STATE"
[ -e cpu_table ] || ln -s "$STATE" cpu_table
while [ -n "${PID_WAIT:-}" ] && kill -0 "$PID_WAIT" 2>/dev/null; do sleep 20; done
while :; do
  piece=$(head -n1 "$LIST" 2>/dev/null)
  [ -z "$piece" ] && break
  sed -i 1d "$LIST"
  echo "$(date -u +%H:%M:%S) start $piece ($THREADS threads)" >> "$STATE/queue.log"
  # bash reads a script as it runs it, so an edit of cpu_table.sh in the middle of a piece would break
  # it: each piece runs a copy taken when it starts
  snapshot="$STATE/.cpu_table.$$.sh"
  cp benchmarks/cpu_table.sh "$snapshot"
  PIECE=$piece THREADS=$THREADS JOBS=1 OUT=cpu_table bash "$snapshot" >> "$STATE/$piece.log" 2>&1
  rc=$?
  rm -f "$snapshot"
  echo "$(date -u +%H:%M:%S) end $piece rc=$rc" >> "$STATE/queue.log"
  # a failed piece stops the queue, so that one broken set-up does not use up the whole list
  if [ "$rc" -ne 0 ]; then  # back at the top of the list, for the next start of the queue
    if [ -s "$LIST" ]; then sed -i "1i $piece" "$LIST"; else echo "$piece" > "$LIST"; fi
    echo "$(date -u +%H:%M:%S) queue $LIST stopped: $piece failed, put back at the top" >> "$STATE/queue.log"
    exit "$rc"
  fi
done
