"""The bench command's arguments, its datasets and the list of runs it plans (pure: nothing is written)."""

import argparse
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from recbole_disen import files, prepare
from recbole_disen.errors import Parser, UserError
from recbole_disen.literal import literal

log = logging.getLogger(__name__)

PROG = "recbole-disen bench"
PROPOSED = "DisenSeqRec"
DEFAULT_MODELS = "DisenSeqRec,SASRec,BERT4Rec"
DEFAULT_SEEDS = "2020,2021,2022"
FIXED_SETTINGS = {
    "metrics": ["Recall", "NDCG", "MRR"],
    "topk": [5, 10, 20],
    "valid_metric": "NDCG@10",
}
HORIZON_VALID_METRIC = "horizon_ndcg@10"  # replaces valid_metric in the runs of --horizon N
MANAGED_KEYS = frozenset(FIXED_SETTINGS) | {"seed", "horizon", "checkpoint_dir", "model", "dataset"}
MANAGED_HINT = ("use --models, --datasets and --seeds for what runs, --horizon N for the horizon evaluation, "
                "--out for where checkpoints go")
# A --models label names files and folders (run JSONs, checkpoint folders): MODEL or MODEL@VARIANT, of
# letters, digits, '_', '.' and '-', each part starting with a letter, digit or '_' (no path, no '..').
LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(@[A-Za-z0-9_][A-Za-z0-9_.-]*)?")


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as RecBole sees it: its name and, for path datasets, its ``data_path``.

    ``user_lines`` is the one-line-per-user file that ``data_path/name/name.inter`` is converted from.
    """

    name: str
    data_path: str | None = None
    user_lines: str | None = None


@dataclass(frozen=True)
class Job:
    """One run to execute: the spec that defines it and where its outputs go."""

    run_key: str
    spec: dict
    result_path: str
    checkpoint_dir: str
    show_progress: bool
    user_lines: str | None = None  # its dataset's one-line-per-user source, converted before any run
    command: str = ""  # the bench command that planned it, stored in its JSON beside the spec


def model_class(label: str) -> str:
    """The model a label runs: ``SASRec`` -> SASRec, ``DisenSeqRec@faithful`` -> DisenSeqRec.

    A label with ``@name`` is a variant: its own run key, table row and ``--set LABEL:KEY=VALUE``.
    """
    return label.partition("@")[0]


# ---------------------------------------------------------------- arguments


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``recbole-disen bench``."""
    parser = Parser(prog=PROG, description="Train and compare DisenSeqRec with baselines "
                     "over datasets and seeds; write run JSONs, BENCH.md and curves.png.")
    parser.add_argument("--models", default=DEFAULT_MODELS, help="comma-separated model names "
                        f"(default: {DEFAULT_MODELS})")
    parser.add_argument("--datasets", help="comma-separated RecBole dataset names, "
                        "one-line-per-user .txt files, or folders X/ holding X/X.inter")
    parser.add_argument("--report-only", action="store_true", help="only rebuild BENCH.md and "
                        "curves.png from the run JSONs already in --out (for example after "
                        "several bench commands wrote into the same folder)")
    parser.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"comma-separated integer seeds "
                        f"(default: {DEFAULT_SEEDS})")
    parser.add_argument("--out", type=Path, default=Path("bench_results"),
                        help="results folder (default: bench_results)")
    parser.add_argument("--budget", type=float, default=None,
                        help="training time budget per run in seconds (default: unlimited)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs executed in parallel (default: 1)")
    parser.add_argument("--config_files", nargs="+", action="extend", default=[], metavar="PATH",
                        help="RecBole YAML config files applied to every run")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        metavar="[MODEL:]KEY=VALUE", help="config override for every run (left out of the runs of "
                        "a model that does not have that setting), or only for MODEL; VALUE is a Python literal "
                        "or a plain string (repeatable)")
    parser.add_argument("--horizon", type=int, default=0, metavar="N",
                        help="test every run on each user's next N items instead of the next one "
                        f"(settings horizon: N, valid_metric: {HORIZON_VALID_METRIC}); its runs are "
                        "named __hN and reported beside the next-item ones (default: 0, off)")
    parser.add_argument("--no-progress", action="store_false", dest="show_progress",
                        help="hide training progress bars")
    return parser


def parse_models(text: str) -> list:
    """Parse ``--models`` into labels that are safe as parts of file names."""
    models = split_list(text, "--models")
    for label in models:
        if not LABEL.fullmatch(label):
            raise UserError(f"--models {label!r} is not a model label: use MODEL or MODEL@VARIANT, of letters, "
                            "digits, '_', '.' and '-' (for example SASRec or DisenSeqRec@nos2s)")
    return models


def split_list(text: str, option: str) -> list:
    """Split a comma-separated option value into distinct non-empty items, in order."""
    items = list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    if not items:
        raise UserError(f"{option} needs at least one comma-separated value")
    return items


def parse_seeds(text: str) -> list:
    """Parse ``--seeds`` into integers."""
    try:
        return [int(item) for item in split_list(text, "--seeds")]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got {text!r}") from None


def parse_override(item: str, models: list) -> tuple:
    """Parse one ``[MODEL:]KEY=VALUE`` into ``(model or None, key, value)``."""
    target, equals, text = item.partition("=")
    model, colon, key = target.rpartition(":")
    model, key = model.strip(), key.strip()
    if not equals or not key.isidentifier() or (colon and not model):
        raise UserError(f"--set expects KEY=VALUE or MODEL:KEY=VALUE, got {item!r}")
    if colon and model not in models:
        raise UserError(f"--set {item!r} names model {model!r}, which is not in --models")
    if key in MANAGED_KEYS:
        raise UserError(f"--set cannot change {key!r}: the benchmark sets it ({MANAGED_HINT})")
    value = literal(text.strip())
    if isinstance(value, str) and literal(value) != value:
        # The runner's config reads config_dict strings once more: quoted, '1' stays the string "1".
        value = repr(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise UserError(f"--set {item!r}: the value must be plain data (numbers, strings, "
                        "lists, dicts)") from None
    return (model if colon else None), key, value


def parse_overrides(items: list, models: list) -> tuple:
    """Return ``(settings for every model, {model: its own settings})`` from ``--set`` items."""
    shared, per_model = {}, {}
    for item in items:
        model, key, value = parse_override(item, models)
        (shared if model is None else per_model.setdefault(model, {}))[key] = value
    return shared, per_model


def resolve_config_files(paths: list) -> list:
    """Return (absolute path, settings) of each config file in the order given, each file read once; a
    missing one, or one that sets what the benchmark sets (which its runs would replace without a word),
    is a UserError."""
    from recbole_disen.config import read_config_file  # imports RecBole: only when config files are given

    resolved = []
    for given in paths:
        path = Path(given).resolve()
        if not path.is_file():
            raise UserError(f"config file {given!r} does not exist")
        settings = read_config_file(str(path))
        managed = sorted(MANAGED_KEYS.intersection(settings))
        if managed:
            raise UserError(f"config file {given!r} sets {managed[0]!r}, which the benchmark sets for every run: "
                            f"remove it from the file ({MANAGED_HINT})")
        resolved.append((str(path), settings))
    return resolved


def resolve_dataset(text: str, data_dir: Path) -> DatasetRef:
    """Turn a ``--datasets`` item into a dataset name and, for paths, a data_path.

    An item is a path when it exists or looks like one (has a path separator or ends
    in ``.txt``); otherwise it is a RecBole dataset name. A ``.txt`` file is a dataset of
    its stem under ``data_dir``, converted there by ``execute.convert_user_lines``.
    """
    path = Path(text)
    if not (path.exists() or os.sep in text or "/" in text or text.endswith(".txt")):
        return DatasetRef(text)
    if not path.exists():
        raise UserError(f"dataset path {text!r} does not exist")
    if path.is_dir():
        if not (path / f"{path.resolve().name}.inter").is_file():
            raise UserError(f"dataset folder {text!r} has no {path.resolve().name}.inter file")
        return DatasetRef(path.resolve().name, str(path.resolve().parent))
    if path.suffix != ".txt":
        raise UserError(f"dataset file {text!r} must be a one-line-per-user .txt file")
    if not prepare.SAFE_NAME.fullmatch(path.stem):
        raise UserError(f"dataset file {text!r}: the bench names the dataset after the file, and {path.stem!r} is not "
                        f"a dataset name ({prepare.SAFE_NAME_RULE}): rename the file")
    return DatasetRef(path.stem, str(data_dir.resolve()), str(path.resolve()))


def check_limits(args: argparse.Namespace) -> None:
    """Reject a non-positive ``--budget`` or ``--jobs`` and a negative ``--horizon``."""
    if args.horizon < 0:
        raise UserError(f"--horizon must be an integer >= 0 (0: next item only), got {args.horizon}")
    if args.budget is not None and not args.budget > 0:
        raise UserError(f"--budget must be a positive number of seconds, got {args.budget}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")


# ---------------------------------------------------------------- planning


def plan_jobs(args: argparse.Namespace, command: str = "") -> list:
    """Validate the parsed arguments and return every run, dataset by dataset, seed by seed, each of
    ``command`` (the command line, for its JSON)."""
    models = parse_models(args.models)
    seeds = parse_seeds(args.seeds)
    shared, per_model = parse_overrides(args.overrides, models)
    config_settings = resolve_config_files(args.config_files)
    config_files = [path for path, _ in config_settings]
    check_limits(args)
    names = split_list(args.datasets, "--datasets")
    datasets = [resolve_dataset(name, args.out / "data") for name in names]
    _check_unique_names(datasets)
    from recbole_disen.config import foreign_keys, package_defaults  # imports RecBole

    # A dataset given as a path sets its own data_path, which would replace one given here without a word.
    given_data_path = "data_path" in shared or any("data_path" in settings for settings in per_model.values()) \
        or any("data_path" in settings for _, settings in config_settings)
    by_path = next((name for name, dataset in zip(names, datasets) if dataset.data_path is not None), None)
    if given_data_path and by_path is not None:
        raise UserError(f"--datasets {by_path!r} is a path, which sets its data_path: leave data_path out of --set "
                        "and the config files (it applies to datasets given by name)")

    left_out = {model: foreign_keys(model_class(model), shared) for model in models}
    for key in shared:
        if all(key in keys for keys in left_out.values()):
            raise UserError(f"--set {key} is a setting of none of --models {','.join(models)}: remove it")
    for model, keys in left_out.items():
        if keys:
            log.info("--set %s: not a setting of %s, left out of its runs", ", ".join(keys), model)
    for model, settings in per_model.items():
        foreign = foreign_keys(model_class(model), settings)
        if foreign:
            raise UserError(f"--set {model}:{foreign[0]}: {foreign[0]} is not a setting of {model_class(model)}")

    config_digests = [files.sha256_of(path) for path in config_files]
    data_digests = {dataset: data_digest(dataset) for dataset in datasets}
    shared_by_model = {model: {k: v for k, v in shared.items() if k not in left_out[model]} for model in models}
    # The report's first tables pair each run's test result, which is under the protocol it ran with.
    protocols = {model: {**shared_by_model[model], **per_model.get(model, {})}.get("eval_exclude_seen", False)
                 for model in models}
    if len(set(protocols.values())) > 1:
        raise UserError(f"--set gives eval_exclude_seen {protocols} by model: the models would be compared under "
                        "different ranking protocols; set it for all of them (--set eval_exclude_seen=VALUE), or "
                        "leave it out (the bench tests every run under both protocols anyway)")
    return [
        make_job(args, dataset, model, seed, {**shared_by_model[model], **per_model.get(model, {})}, config_files,
                 inputs={"data_sha256": data_digests[dataset], "config_files_sha256": config_digests,
                         "defaults": package_defaults(model_class(model), dataset.name)}, command=command)
        for dataset in datasets
        for seed in seeds
        for model in models
    ]


def same_spec(stored, spec: dict) -> bool:
    """Whether a stored spec (None if there is none) is ``spec``'s run. The package's defaults may have
    gained settings since: one the stored run lacks was, like every setting added later, at its default
    (as ``checkpoint.read_for_resume`` reads it); a default that changed or went away makes it another run."""
    if not isinstance(stored, dict) or not isinstance(stored.get("inputs"), dict):
        return False
    old, new = stored["inputs"].get("defaults"), spec["inputs"]["defaults"]
    rest = _identity(stored) == _identity(spec)
    return rest and isinstance(old, dict) and all(key in new and new[key] == value for key, value in old.items())


def _identity(spec: dict) -> dict:
    """A spec as it identifies its run, its defaults aside (``same_spec`` compares those): data read from a
    file is its contents (``inputs``' SHA-256), wherever it lies, so a bench folder moved or copied
    elsewhere, with the data it converted into ``data/``, holds the same runs."""
    config = spec.get("config_dict")
    if isinstance(config, dict) and spec["inputs"].get("data_sha256") is not None:
        config = {key: value for key, value in config.items() if key != "data_path"}
    return {**spec, "config_dict": config, "inputs": {**spec["inputs"], "defaults": None}}


def data_digest(dataset: DatasetRef) -> str | None:
    """The SHA-256 of the file a path dataset is read from (its .txt, or its folder's .inter); None for a
    RecBole dataset name (RecBole fetches it, and the checkpoint's fingerprint covers it)."""
    if dataset.user_lines is not None:
        return files.sha256_of(dataset.user_lines)
    if dataset.data_path is not None:
        return files.sha256_of(Path(dataset.data_path) / dataset.name / f"{dataset.name}.inter")
    return None


def _check_unique_names(datasets: list) -> None:
    """Two datasets with the same name would overwrite each other's results."""
    names = [dataset.name for dataset in datasets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(f"--datasets names dataset {duplicates[0]!r} more than once")


def make_job(args, dataset: DatasetRef, model: str, seed: int, overrides: dict,
             config_files: list, inputs: dict, command: str = "") -> Job:
    """Build the spec of one run and where its outputs go. ``inputs`` is what the settings alone do not
    say: the contents of the data and config files and the package's defaults (its overall, dataset and
    model yaml values), so that a finished run whose data, config file or defaults changed runs again
    (and an interrupted one starts afresh) rather than being reused (``same_spec``)."""
    config_dict = {**overrides, "seed": seed, **FIXED_SETTINGS}
    if args.horizon:
        config_dict.update(horizon=args.horizon, valid_metric=HORIZON_VALID_METRIC)
    if dataset.data_path is not None:
        config_dict["data_path"] = dataset.data_path
    spec = {
        "model": model,
        "dataset": dataset.name,
        "seed": seed,
        "config_dict": config_dict,
        "config_files": config_files,
        "budget": args.budget,
        "inputs": inputs,
    }
    run_key = f"{dataset.name}__{model}__seed{seed}" + (f"__h{args.horizon}" if args.horizon else "")
    return Job(
        run_key=run_key,
        spec=json.loads(json.dumps(spec)),
        result_path=str((args.out / "runs" / f"{run_key}.json").resolve()),
        checkpoint_dir=str((args.out / "checkpoints" / run_key).resolve()),
        show_progress=args.show_progress,
        user_lines=dataset.user_lines,
        command=command,
    )
