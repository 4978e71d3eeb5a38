"""Where does an epoch's time go? Time one training step (loss, backward, Adam) per model variant.

The dataset is loaded and split once (with the first variant's settings: variants should differ in
model settings only). Every variant trains on the same batch of the training split (the first one
after seeding), on the configured device: a warm-up of ``--warmup`` steps, then the mean, min and max of ``--steps`` timed steps (the device is
synchronised around each). Variants isolate costs: for example the seq2seq term (``s2s_weight=0``),
the K-fold scoring (``n_intents=1``) or the future length.

    python benchmarks/step_profile.py --dataset=ml-100k --gpu_id= --train_batch_size=2048 \
        --variants="SASRec,DisenSeqRec,DisenSeqRec:s2s_weight=0.0,DisenSeqRec:s2s_weight=0.0:n_intents=1"

``--variants``: comma-separated ``MODEL[:key=value]...``. Any further ``--key=value`` is a setting for
every variant, as for the runner; ``--keep_freed_memory`` (the allocator, ``recbole_disen/allocator.py``)
holds for the whole process, so it is one for every variant. Output: one JSON line per variant on
stdout, with the wall and CPU seconds of a step and its minor page faults.
"""

import json
import resource
import statistics
import sys
import time

import torch

from recbole.utils import init_seed

from recbole_disen import allocator, compat
from recbole_disen.cli import parse_run_args
from recbole_disen.future import tag_training_rows
from recbole_disen.runner import build, build_config, build_model, environment


def parse_variants(text):
    """``"SASRec,DisenSeqRec:n_intents=1"`` -> [("SASRec", {}), ("DisenSeqRec", {"n_intents": "1"})]."""
    variants = []
    for spec in text.split(","):
        model, *pairs = spec.split(":")
        if not model or any("=" not in pair for pair in pairs):
            raise SystemExit(f"--variants: '{spec}' is not MODEL[:key=value]... (for example DisenSeqRec:n_intents=1)")
        variants.append((model, dict(pair.split("=", 1) for pair in pairs)))
    return variants


# Settings that building the data split writes into its config (BERT4Rec's MaskItemSequence names its
# fields there); the split is built once, so every variant's config takes them from the first one.
DATA_WRITTEN_KEYS = ("MASK_ITEM_SEQ", "POS_ITEMS", "NEG_ITEMS", "MASK_INDEX")


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(model, batch, learning_rate, warmup, steps):
    """(wall seconds, CPU seconds, system CPU seconds, minor page faults) of each of ``steps`` training
    steps on ``batch``, after ``warmup`` untimed ones (the CPU figures are the whole process's)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    device = next(model.parameters()).device
    model.train()
    measured = []
    for step in range(warmup + steps):
        synchronize(device)
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        optimizer.zero_grad()
        loss = model.calculate_loss(batch)  # DisenSeqRec: (seq2item, weighted seq2seq); SASRec: one tensor
        (sum(loss) if isinstance(loss, tuple) else loss).backward()
        optimizer.step()
        synchronize(device)
        after = resource.getrusage(resource.RUSAGE_SELF)
        if step >= warmup:
            system = after.ru_stime - before.ru_stime
            measured.append((time.perf_counter() - start, after.ru_utime - before.ru_utime + system, system,
                             after.ru_minflt - before.ru_minflt))
    return measured


def variant_models(args, settings, variants):
    """(train, valid, model name, overrides, config, model, whether freed memory is kept) per variant: the
    data split once, with the first variant's settings, and each variant's model built on it, seeded,
    through the runner; ``keep_freed_memory`` applied for the whole process, as in a run."""
    configs = [build_config(name, args["dataset"], args["config_files"], cmd_config={**settings, **overrides})
               for name, overrides in variants]
    if len({config["keep_freed_memory"] for config in configs}) > 1:
        raise SystemExit("--variants: keep_freed_memory holds for the whole process: set it for every variant")
    kept = configs[0]["keep_freed_memory"] and configs[0]["device"].type == "cpu" and allocator.keep_freed_memory()
    _, train, valid, _, _ = build(configs[0])
    for config in configs[1:]:  # the names BERT4Rec's masking transform gave its fields, in the split's config
        for key in DATA_WRITTEN_KEYS:
            config[key] = configs[0][key]
    tag_training_rows(train.dataset)  # for DisenSeqRec variants, whatever the first variant's model
    for (model_name, overrides), config in zip(variants, configs):
        init_seed(config["seed"], config["reproducibility"])
        model = build_model(config, train.dataset)
        train.generator.manual_seed(config["seed"])  # the loader shuffles with its own generator
        yield train, valid, model_name, overrides, config, model, bool(kept)


@compat.quiet_recbole_warnings()
def main(argv):
    args, settings = parse_run_args(argv)
    variants = parse_variants(settings.pop("variants", "SASRec,DisenSeqRec"))
    steps = int(settings.pop("steps", 5))
    warmup = int(settings.pop("warmup", 2))
    for train, _, model_name, overrides, config, model, kept in variant_models(args, settings, variants):
        batch = next(iter(train)).to(config["device"])
        if config["device"].type == "cuda":
            torch.cuda.reset_peak_memory_stats(config["device"])
        measured = time_steps(model, batch, config["learning_rate"], warmup, steps)
        seconds, cpu, system, faults = zip(*measured)
        peak = torch.cuda.max_memory_allocated(config["device"]) if config["device"].type == "cuda" else None
        record = {
            "model": model_name, "overrides": overrides, "padding_free": "forward" in vars(model), "dataset": args["dataset"], "rows": len(batch),
            "device": str(config["device"]), "threads": torch.get_num_threads(), "steps": steps,
            "s_per_step_mean": round(statistics.mean(seconds), 4), "s_per_step_min": round(min(seconds), 4),
            "s_per_step_max": round(max(seconds), 4), "cpu_s_per_step_mean": round(statistics.mean(cpu), 4),
            "system_s_per_step_mean": round(statistics.mean(system), 4),
            "minor_faults_per_step_mean": round(statistics.mean(faults)),
            "keep_freed_memory": kept, "peak_gpu_bytes": peak,
            "peak_rss_bytes_so_far": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # Linux: KiB
            "environment": environment(),
        }
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
