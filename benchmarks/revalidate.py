"""Validate finished bench runs again from their best checkpoints, to seven decimals instead of four.

RecBole rounds every metric to ``metric_decimal_place`` (4) before early stopping compares them, so
two points of a tuning grid can tie on the validation score that picks between them (Toys, seed
2020: DisenSeqRec at (5e-4, 0.5) and at (5e-4, 0.6) both validated NDCG@10 .0512). This rebuilds
each run's data and model from its JSON's spec, loads its best checkpoint (tensors only, every field
checked) and evaluates the validation set again with seven decimals; the rounded result must be the
run's own best validation result, which is checked. One JSON line per run on stdout:

    python benchmarks/revalidate.py cpu_table/runs/amazon-toys__DisenSeqRec@lr5e-4_do0.5__seed2020.json \\
        cpu_table/runs/amazon-toys__DisenSeqRec@lr5e-4_do0.6__seed2020.json
"""

import argparse
import math
import sys
from pathlib import Path

from recbole_disen import compat
from recbole_disen.trainer import DisenTrainer
from trained_run import emit, load_best, read_record, rebuilt

DECIMALS = 7


@compat.quiet_recbole_warnings()
def revalidate(record):
    """{run_key, valid_result}: the run's best checkpoint on its validation set, to DECIMALS places."""
    with rebuilt(record) as (config, _, valid, _, model):
        load_best(record, model, "validate")
        config["metric_decimal_place"] = DECIMALS  # read when the trainer builds its evaluator
        trainer = DisenTrainer(config, model.to(config["device"]))
        result = {k: float(v) for k, v in trainer.evaluate(valid, load_best_model=False, show_progress=False).items()}
    for metric, value in record["best_valid_result"].items():
        if not math.isclose(result[metric], value, abs_tol=0.5e-4 + 1e-9):
            raise SystemExit(f"{record['run_key']}: validation {metric} {result[metric]} differs from the run's "
                             f"own {value}: not the same model or data")
    return {"run_key": record["run_key"], "valid_result": result}


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="bench run JSONs (<out>/runs/*.json)")
    for path in parser.parse_args(argv).runs:
        emit(revalidate(read_record(path)))


if __name__ == "__main__":
    main(sys.argv[1:])
