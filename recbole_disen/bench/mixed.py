"""The report's rows whose seeds were run under different specs (a pure function over run dictionaries).

A table row averages the seeds of one model on one dataset (and horizon). Its runs can come from several
bench commands, so they may differ in more than their seed: a setting, the budget, the config files or
their contents, the data file's contents (not its folder: a bench folder moved elsewhere holds the same
data), or a package default. The mean ± std and the paired tests of such a row mix those runs; the report
keeps the row and names the differences, seed by seed, above the dataset's tables. A package default is
compared only between runs that all record it (a run made before that default existed ran at it, as
``plan.same_spec`` reads it). Runs without a spec (not made by the bench) are left out.
"""

from recbole_disen.bench.compare import group, model_order
from recbole_disen.bench.horizon_summary import horizon_of

DIGEST_CHARS = 12  # of a SHA-256, enough to tell two files apart in the report


def mixed_rows(runs: list) -> tuple:
    """``(row label, [difference, ...])`` of each row of one dataset's runs whose specs differ, in report
    order (next-item rows, then each horizon's); a difference reads ``epochs 2 (seeds 1, 3), 1 (seed 2)``."""
    found = []
    for horizon in sorted({horizon_of(run) for run in runs}):
        by_model = group([run for run in runs if horizon_of(run) == horizon and isinstance(run.get("spec"), dict)],
                         "model")
        for model in model_order(by_model):
            differences = _differences(by_model[model])
            if differences:
                found.append((f"{model}, horizon {horizon}" if horizon else model, differences))
    return tuple(found)


def _differences(runs: list) -> list:
    """What differs between the specs of one row's runs, one text per setting, settings sorted by name."""
    settings = [_settings(run["spec"]) for run in runs]
    defaults = [(run["spec"].get("inputs") or {}).get("defaults") or {} for run in runs]
    common = set.intersection(*(set(values) for values in defaults))
    settings = [{**values, **{f"default {key}": own[key] for key in common}} for values, own in zip(settings, defaults)]
    differences = []
    for name in sorted(set().union(*settings)):
        seeds_of = {}  # the value as it reads (a setting that a run does not name: unset) -> its seeds
        for run, values in zip(runs, settings):
            seeds_of.setdefault(_text(values[name]) if name in values else "unset", []).append(run["seed"])
        if len(seeds_of) > 1:
            differences.append(f"{name} " + ", ".join(f"{value} ({_seeds(seeds)})" for value, seeds in seeds_of.items()))
    return differences


def _text(value) -> str:
    """A setting's value as ``--set`` takes it, dictionaries in key order (so equal ones read alike)."""
    return repr(dict(sorted(value.items())) if isinstance(value, dict) else value)


def _settings(spec: dict) -> dict:
    """A spec's settings by the name the report gives them: the seed left out, and the data_path of a data
    file whose SHA-256 the spec records (the same file moved is the same data); digests shortened."""
    inputs = spec.get("inputs") or {}
    data, configs = inputs.get("data_sha256"), inputs.get("config_files_sha256") or []
    left_out = {"seed", "data_path"} if data else {"seed"}
    return {
        **{key: value for key, value in (spec.get("config_dict") or {}).items() if key not in left_out},
        "--budget": spec.get("budget"),
        "--config_files": spec.get("config_files"),
        "data file SHA-256": data[:DIGEST_CHARS] if data else data,
        "config files' SHA-256": [digest[:DIGEST_CHARS] for digest in configs],
    }


def _seeds(seeds: list) -> str:
    """``seed 1`` or ``seeds 1, 3``."""
    return f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(str(seed) for seed in seeds)
