"""Seconds of one full training epoch and one full-ranking evaluation pass, per model variant.

The dataset is loaded and split once; each variant builds its model through the runner (so
``padding_free`` applies as in a real run), trains one epoch with RecBole's own training loop, then
ranks all items for every validation user once.

    OMP_NUM_THREADS=2 python benchmarks/epoch_time.py --dataset=amazon-beauty --data_path=DIR --gpu_id= \
        --train_batch_size=2048 --variants="SASRec:padding_free=False,SASRec,DisenSeqRec:padding_free=False,DisenSeqRec"

``--variants``: comma-separated ``MODEL[:key=value]...`` (as in step_profile.py). Any further
``--key=value`` is a setting for every variant. Output: one JSON line per variant on stdout.
"""

import json
import sys
import tempfile
import time

import torch
from recbole.trainer import Trainer

from recbole_disen import compat
from recbole_disen.cli import parse_run_args
from recbole_disen.runner import environment
from step_profile import parse_variants, synchronize, variant_models


@compat.quiet_recbole_warnings()
def main(argv):
    args, settings = parse_run_args(argv)
    variants = parse_variants(settings.pop("variants", "SASRec,DisenSeqRec"))
    with tempfile.TemporaryDirectory() as checkpoints:
        settings["checkpoint_dir"] = checkpoints
        for train, valid, model_name, overrides, config, model, kept in variant_models(args, settings, variants):
            trainer = Trainer(config, model)  # RecBole's own loop, no checkpoints
            synchronize(config["device"])
            start = time.perf_counter()
            trainer._train_epoch(train, 0)
            synchronize(config["device"])
            trained = time.perf_counter()
            trainer._valid_epoch(valid)
            synchronize(config["device"])
            record = {
                "model": model_name, "overrides": overrides, "padding_free": "forward" in vars(model),
                "dataset": args["dataset"], "train_rows": len(train.dataset), "valid_users": len(valid.dataset),
                "device": str(config["device"]), "threads": torch.get_num_threads(), "keep_freed_memory": kept,
                "train_epoch_seconds": round(trained - start, 2),
                "valid_pass_seconds": round(time.perf_counter() - trained, 2), "environment": environment(),
            }
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
