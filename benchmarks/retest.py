"""Test finished bench runs again, from their best checkpoints, under both ranking protocols.

For bench runs made before the second protocol existed (their JSONs hold RecBole's protocol only):
each run's dataset, split and model are rebuilt from the JSON's spec, the best checkpoint's weights
(read with ``torch.load(weights_only=True)``: tensors only) are loaded, and the runner's own
``protocols.test_both`` tests them under RecBole's protocol and with seen items removed. The updated
JSON goes into ``--out``/runs/ (the original is left as it is); RecBole's protocol must give the
JSON's own test result again, which is checked.

``--interim`` takes a running bench job's ``job.json`` instead (a run that has not finished): its
best checkpoint so far is tested, and the record (with the best epoch and score so far, from the
run's ``-last.pth``) goes into ``--out``/interim/, which the bench report does not read.

    python benchmarks/retest.py cpu_table/runs/amazon-beauty__SASRec__seed2020.json --out cpu_table_retest
    python benchmarks/retest.py --interim /tmp/recbole-disen-bench-XXXX/job.json --out cpu_table_retest
"""

import argparse
import json
import math
import sys
from pathlib import Path

import torch

from recbole_disen import compat, files, protocols
from recbole_disen.trainer import DisenTrainer
from trained_run import rebuilt


@compat.quiet_recbole_warnings()
def retest(record):
    """The record with both protocols' test results of its best checkpoint."""
    with rebuilt(record) as (config, train, _, test, model):
        model.load_state_dict(torch.load(record["checkpoint"], map_location="cpu", weights_only=True)["state_dict"])
        trainer = DisenTrainer(config, model.to(config["device"]))
        seen = protocols.SeenItems(train, config["device"])
        tests = protocols.test_both(trainer, train, test, seen, load_best_model=False, show_progress=False)
    for metric, value in record.get("test_result", {}).items():
        if not math.isclose(tests["test_result_recbole"][metric], value, abs_tol=1e-4):
            raise SystemExit(f"{record['run_key']}: {metric} {tests['test_result_recbole'][metric]} differs from "
                             f"the run's own {value}: not the same model or data")
    return {**record, **tests, "retested": True}


def interim_record(job_file):
    """A record for a bench job that has not finished: its spec and its best checkpoint so far."""
    job = json.loads(Path(job_file).read_text())
    [last] = Path(job["checkpoint_dir"]).glob("*-last.pth")
    state = torch.load(last, map_location="cpu", weights_only=True)
    best = last.with_name(last.name.replace("-last.pth", ".pth"))
    return {"run_key": job["run_key"], "spec": job["spec"], "checkpoint": str(best), "interim": True,
            "epochs_run": len(state["history"]), "best_epoch": state["best_epoch"],
            "best_valid_score": state["best_valid_score"]}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, help="bench run JSONs")
    parser.add_argument("--interim", nargs="*", type=Path, default=[], help="job.json files of running bench jobs")
    parser.add_argument("--out", type=Path, required=True, help="folder for the updated JSONs (runs/, interim/)")
    args = parser.parse_args(argv)
    for path in args.runs:
        files.write_json(args.out / "runs" / path.name, retest(json.loads(path.read_text())))
    for path in args.interim:
        record = retest(interim_record(path))
        files.write_json(args.out / "interim" / f"{record['run_key']}.json", record)


if __name__ == "__main__":
    main(sys.argv[1:])
