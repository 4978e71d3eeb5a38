"""Snapshot the validation curves of bench runs that have not finished (yet), from their last-epoch
checkpoints, into one small JSON that can be committed while the runs go on.

A bench run writes its result JSON only when it ends; its ``-last.pth`` checkpoint (read here with
``torch.load(weights_only=True)``: tensors and plain data only) holds the per-epoch history so far.
An existing ``--out`` file is updated, not replaced: a run whose checkpoint is gone (a new machine, or a
finished run cleaned up) keeps its committed entry, and so does one whose committed curve is longer than
its checkpoint's (a run restarted from epoch 0), notes and all.

    python benchmarks/progress.py cpu_table --out benchmarks/results/cpu-table/progress.json
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from recbole_disen import files


def snapshot(bench_out):
    """[{run_key, epochs_run, best_epoch, best_valid_score, valid_ndcg@10 per epoch, ...}] of every run."""
    runs = []
    for folder in sorted(path for path in Path(bench_out, "checkpoints").glob("*") if path.is_dir()):
        last = files.last_checkpoint_in(folder)  # the run's newest, a name claimed but not yet written left out
        if last is None:
            continue
        last = Path(last)
        state = torch.load(last, map_location="cpu", weights_only=True)
        history = state["history"]
        runs.append({
            "run_key": last.parent.name,
            "finished": Path(bench_out, "runs", f"{last.parent.name}.json").is_file(),
            "epochs_run": len(history),
            "best_epoch": state["best_epoch"],
            "best_valid_score": state["best_valid_score"],
            "valid_score": [h["valid_score"] for h in history],
            "train_seconds": [round(h["train_seconds"], 1) for h in history],
        })
    return runs


def merged(committed, fresh):
    """``committed`` entries updated with ``fresh`` ones by run key, in run-key order: a fresh reading
    replaces a committed one only when it has at least as many epochs."""
    by_key = {entry["run_key"]: entry for entry in committed}
    for entry in fresh:
        kept = by_key.get(entry["run_key"])
        if kept is None or entry["epochs_run"] >= kept["epochs_run"]:
            by_key[entry["run_key"]] = entry
    return [by_key[key] for key in sorted(by_key)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_out", type=Path, help="the bench's --out folder")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    committed = json.loads(args.out.read_text()) if args.out.is_file() else []
    files.write_json(args.out, merged(committed, snapshot(args.bench_out)))


if __name__ == "__main__":
    main(sys.argv[1:])
