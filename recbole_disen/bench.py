"""Benchmark DisenSeqRec against baseline models over datasets and seeds.

``recbole-disen bench --datasets ml-100k`` trains every (dataset, model, seed)
combination, each in its own worker process, and writes under ``--out``:

* ``runs/<dataset>__<model>__seed<seed>.json``: the runner's result plus the run's spec;
  a run whose JSON holds the same spec is skipped, so an interrupted benchmark resumes;
* ``BENCH.md``: a Markdown report built from all run JSONs in the folder;
* ``curves.png``: validation NDCG@10 against epoch and wall time.

The statistics (``relative_change``, ``paired_test``, ``summarise``,
``render_markdown``) are pure functions over run dictionaries.
"""

import argparse
import ast
import functools
import io
import json
import logging
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from recbole_disen.errors import UserError

log = logging.getLogger(__name__)

PROG = "recbole-disen bench"
MODULE = "recbole_disen.bench"
WORKER_FLAG = "--worker"
PROPOSED = "DisenSeqRec"
DEFAULT_MODELS = "DisenSeqRec,SASRec,BERT4Rec"
DEFAULT_SEEDS = "2020,2021,2022"
FIXED_SETTINGS = {
    "metrics": ["Recall", "NDCG", "MRR"],
    "topk": [5, 10, 20],
    "valid_metric": "NDCG@10",
}
MANAGED_KEYS = frozenset(FIXED_SETTINGS) | {"seed"}
TABLE_METRICS = ("recall@10", "ndcg@10", "mrr@10", "recall@20", "ndcg@20")
COMPARE_METRIC = "ndcg@10"
USER_SCORES_KEY = "test_user_ndcg@10"
REQUIRED_RUN_KEYS = frozenset(
    {"model", "dataset", "seed", "test_result", "test_user_ids", USER_SCORES_KEY, "history"}
)
MIB = 2**20
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ---------------------------------------------------------------- data types


@dataclass(frozen=True)
class DatasetRef:
    """A dataset as RecBole sees it: its name and, for path datasets, its ``data_path``."""

    name: str
    data_path: str | None = None


@dataclass(frozen=True)
class Job:
    """One run to execute: the spec that defines it and where its outputs go."""

    run_key: str
    spec: dict
    result_path: str
    checkpoint_dir: str
    show_progress: bool


@dataclass(frozen=True)
class ModelRow:
    """One model's results on one dataset, aggregated over seeds."""

    model: str
    seeds: list
    metrics: dict  # metric name -> (mean, sample std or None with one seed)
    best_epochs: list
    epochs_run: list
    median_epoch_seconds: float
    test_eval_seconds: float
    peak_memory_mib: float
    memory_kind: str
    n_params: int
    budget_cut: int


@dataclass(frozen=True)
class Comparison:
    """DisenSeqRec (or one of its variants) against one baseline on the seeds both have."""

    proposed: str
    baseline: str
    seeds: list
    proposed_mean: float
    baseline_mean: float
    relative_change: float
    test: dict  # output of paired_test


@dataclass(frozen=True)
class DatasetSummary:
    """The table rows and comparisons of one dataset."""

    name: str
    rows: list
    comparisons: list


@dataclass(frozen=True)
class Summary:
    """Everything BENCH.md shows."""

    command: str
    n_runs: int
    versions: list
    machines: list
    datasets: list
    failures: list  # (run_key, one-line error)


# ---------------------------------------------------------------- statistics


def relative_change(proposed: float, baseline: float) -> float:
    """Return ``(proposed - baseline) / baseline`` in percent; NaN when the baseline is 0."""
    if baseline == 0:
        return math.nan
    return (proposed - baseline) / baseline * 100.0


def paired_test(user_ids_a, ndcg_a, user_ids_b, ndcg_b) -> dict:
    """Compare per-user scores of model A and model B on the users both have.

    Users are aligned by id (ids must be unique within each list). Returns ``n``
    (paired users), ``mean_diff`` (mean of A - B), the two-sided Wilcoxon
    signed-rank ``wilcoxon_stat`` and ``wilcoxon_p``, and the paired t-test
    ``ttest_p``. Both p-values are 1.0 when all differences are zero, NaN without users.
    """
    _, index_a, index_b = np.intersect1d(
        np.asarray(user_ids_a), np.asarray(user_ids_b), return_indices=True
    )
    a = np.asarray(ndcg_a, dtype=float)[index_a]
    b = np.asarray(ndcg_b, dtype=float)[index_b]
    diff = a - b
    result = {"n": int(diff.size), "mean_diff": float(diff.mean()) if diff.size else math.nan}
    if diff.size == 0:
        return {**result, "wilcoxon_stat": math.nan, "wilcoxon_p": math.nan, "ttest_p": math.nan}
    if not diff.any():
        return {**result, "wilcoxon_stat": 0.0, "wilcoxon_p": 1.0, "ttest_p": 1.0}
    wilcoxon = stats.wilcoxon(a, b, alternative="two-sided")
    return {
        **result,
        "wilcoxon_stat": float(wilcoxon.statistic),
        "wilcoxon_p": float(wilcoxon.pvalue),
        "ttest_p": float(stats.ttest_rel(a, b).pvalue),
    }


def mean_std(values) -> tuple:
    """Return ``(mean, sample std)``; the std is None for a single value."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if array.size > 1 else None
    return float(array.mean()), std


def user_mean_scores(runs: list) -> tuple:
    """Average each user's test NDCG@10 over the given runs; return ``(user_ids, means)``."""
    ids = np.concatenate([np.asarray(run["test_user_ids"], dtype=np.int64) for run in runs])
    scores = np.concatenate([np.asarray(run[USER_SCORES_KEY], dtype=float) for run in runs])
    unique_ids, inverse = np.unique(ids, return_inverse=True)
    return unique_ids, np.bincount(inverse, weights=scores) / np.bincount(inverse)


# ---------------------------------------------------------------- summary


def summarise(runs: list, failures=(), command: str = "") -> Summary:
    """Aggregate run dictionaries (as stored in ``runs/``) into a :class:`Summary`."""
    by_dataset = _group(runs, "dataset")
    return Summary(
        command=command,
        n_runs=len(runs),
        versions=_distinct(run.get("versions") for run in runs),
        machines=_distinct(run.get("machine") for run in runs),
        datasets=[_summarise_dataset(name, by_dataset[name]) for name in sorted(by_dataset)],
        failures=list(failures),
    )


def _group(runs: list, key: str) -> dict:
    """Group runs by the value of ``key``, each group sorted by seed."""
    groups = {}
    for run in sorted(runs, key=lambda run: run["seed"]):
        groups.setdefault(run[key], []).append(run)
    return groups


def _distinct(items) -> list:
    """Return the distinct non-empty dictionaries among ``items``, in first-seen order."""
    unique = {json.dumps(item, sort_keys=True): item for item in items if item}
    return list(unique.values())


def is_proposed(label: str) -> bool:
    """DisenSeqRec itself or a variant of it (``DisenSeqRec@name``)."""
    return model_class(label) == PROPOSED


def model_class(label: str) -> str:
    """The model a label runs: ``SASRec`` -> SASRec, ``DisenSeqRec@faithful`` -> DisenSeqRec.

    A label with ``@name`` is a variant: its own run key, table row and ``--set LABEL:KEY=VALUE``.
    """
    return label.partition("@")[0]


def _model_order(models) -> list:
    """Order model labels: DisenSeqRec first, its variants next, then the baselines alphabetically."""
    return sorted(models, key=lambda model: (model != PROPOSED, not is_proposed(model), model))


def _summarise_dataset(name: str, runs: list) -> DatasetSummary:
    """Build the table rows and the DisenSeqRec comparisons of one dataset."""
    by_model = _group(runs, "model")
    models = _model_order(by_model)
    comparisons = []
    for proposed in filter(is_proposed, models):
        for baseline in [model for model in models if not is_proposed(model)]:
            comparison = _compare(proposed, by_model[proposed], baseline, by_model[baseline])
            if comparison is not None:
                comparisons.append(comparison)
    rows = [_model_row(model, by_model[model]) for model in models]
    return DatasetSummary(name, rows, comparisons)


def _model_row(model: str, runs: list) -> ModelRow:
    """Aggregate the seeds of one model on one dataset."""
    return ModelRow(
        model=model,
        seeds=[run["seed"] for run in runs],
        metrics={
            metric: mean_std([_metric(run, metric) for run in runs])
            for metric in TABLE_METRICS
        },
        best_epochs=[run.get("best_epoch") for run in runs],
        epochs_run=[run.get("epochs_run") for run in runs],
        median_epoch_seconds=_reduce(runs, "median_epoch_seconds", np.median),
        test_eval_seconds=_reduce(runs, "test_eval_seconds", np.mean),
        peak_memory_mib=max(run.get("peak_memory_bytes") or 0 for run in runs) / MIB,
        memory_kind="/".join(sorted({str(run.get("memory_kind")) for run in runs})),
        n_params=max(run.get("n_params") or 0 for run in runs),
        budget_cut=sum(bool(run.get("budget_cut")) for run in runs),
    )


def _metric(run: dict, metric: str) -> float:
    """A run's test metric, NaN if it was not computed."""
    return run["test_result"].get(metric, math.nan)


def _reduce(runs: list, key: str, reducer) -> float:
    """Apply ``reducer`` (``np.median``, ``np.mean``) to the present ``run[key]``; NaN if none."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return float(reducer(values)) if values else math.nan


def _compare(proposed_label: str, proposed_runs: list, baseline: str, baseline_runs: list) -> Comparison | None:
    """Compare DisenSeqRec with one baseline on their common seeds (None if there are none)."""
    seeds = sorted({run["seed"] for run in proposed_runs} & {run["seed"] for run in baseline_runs})
    if not seeds:
        return None
    proposed = [run for run in proposed_runs if run["seed"] in seeds]
    other = [run for run in baseline_runs if run["seed"] in seeds]
    proposed_mean, _ = mean_std([_metric(run, COMPARE_METRIC) for run in proposed])
    baseline_mean, _ = mean_std([_metric(run, COMPARE_METRIC) for run in other])
    return Comparison(
        proposed=proposed_label,
        baseline=baseline,
        seeds=seeds,
        proposed_mean=proposed_mean,
        baseline_mean=baseline_mean,
        relative_change=relative_change(proposed_mean, baseline_mean),
        test=paired_test(*user_mean_scores(proposed), *user_mean_scores(other)),
    )


# ---------------------------------------------------------------- Markdown


def render_markdown(summary: Summary) -> str:
    """Render a :class:`Summary` as the text of BENCH.md."""
    lines = _header_lines(summary)
    for dataset in summary.datasets:
        lines += _dataset_lines(dataset)
    lines += _failure_lines(summary.failures)
    return "\n".join(lines) + "\n"


def _header_lines(summary: Summary) -> list:
    """Title, command line, versions and machines."""
    lines = [
        "# DisenSeqRec benchmark",
        "",
        f"Command: `{summary.command}`",
        "",
        f"{summary.n_runs} finished runs read from `runs/`. Test metrics are mean ± sample std "
        "over seeds (`-` with one seed).",
        "",
        "## Environment",
        "",
    ]
    lines += [f"- versions: {_format_mapping(versions)}" for versions in summary.versions]
    lines += [f"- machine: {_format_mapping(machine)}" for machine in summary.machines]
    return lines + [""]


def _format_mapping(mapping: dict) -> str:
    """Format a flat dictionary as ``key value, key value``."""
    return ", ".join(f"{key} {value}" for key, value in mapping.items())


def _dataset_lines(dataset: DatasetSummary) -> list:
    """The results table and comparison table of one dataset."""
    header = ["Model", "Seeds", "Recall@10", "NDCG@10", "MRR@10", "Recall@20", "NDCG@20",
              "Best epoch(s)", "Epochs run", "Median s/epoch", "Test eval s", "Peak memory (MiB)",
              "Params", "Budget-cut runs"]
    rows = [_row_cells(row) for row in dataset.rows]
    lines = [f"## {dataset.name}", ""] + _table(header, rows) + [""]
    return lines + _comparison_lines(dataset) + [""]


def _row_cells(row: ModelRow) -> list:
    """Table cells of one model row."""
    return [
        row.model,
        _join(row.seeds),
        *(_format_mean_std(*row.metrics[metric]) for metric in TABLE_METRICS),
        _join(row.best_epochs),
        _join(row.epochs_run),
        f"{row.median_epoch_seconds:.2f}",
        f"{row.test_eval_seconds:.2f}",
        f"{row.peak_memory_mib:.1f} ({row.memory_kind})",
        f"{row.n_params:,}",
        f"{row.budget_cut}/{len(row.seeds)}",
    ]


def _comparison_lines(dataset: DatasetSummary) -> list:
    """The DisenSeqRec-against-baselines table of one dataset."""
    title = f"### {PROPOSED} vs baselines on {dataset.name} (test NDCG@10)"
    if not dataset.comparisons:
        return [title, "", f"No {PROPOSED} and baseline runs with a common seed.", ""]
    header = ["Model", "Baseline", "Common seeds", "Model NDCG@10", "Baseline NDCG@10",
              "Relative change", "Users", "Mean diff", "Wilcoxon W", "Wilcoxon p", "t-test p"]
    note = ("Per-user NDCG@10 is averaged over the common seeds, users are paired by id; "
            "Wilcoxon signed-rank and paired t-test, two-sided.")
    rows = [_comparison_cells(comparison) for comparison in dataset.comparisons]
    return [title, "", note, ""] + _table(header, rows)


def _comparison_cells(comparison: Comparison) -> list:
    """Table cells of one DisenSeqRec-against-baseline comparison."""
    test = comparison.test
    return [
        comparison.proposed,
        comparison.baseline,
        _join(comparison.seeds),
        f"{comparison.proposed_mean:.4f}",
        f"{comparison.baseline_mean:.4f}",
        "n/a (baseline 0)" if math.isnan(comparison.relative_change) else f"{comparison.relative_change:+.2f}%",
        str(test["n"]),
        f"{test['mean_diff']:+.4f}",
        f"{test['wilcoxon_stat']:.1f}",
        f"{test['wilcoxon_p']:.3g}",
        f"{test['ttest_p']:.3g}",
    ]


def _failure_lines(failures: list) -> list:
    """The list of runs that failed in this invocation (nothing if none did)."""
    if not failures:
        return []
    return ["## Failed runs", ""] + [f"- `{key}`: {error}" for key, error in failures] + [""]


def _format_mean_std(mean: float, std: float | None) -> str:
    """``mean ± std`` to 4 decimals, ``-`` for a missing std."""
    return f"{mean:.4f} ± {'-' if std is None else f'{std:.4f}'}"


def _join(values) -> str:
    """Comma-separated values."""
    return ", ".join(str(value) for value in values)


def _table(header: list, rows: list) -> list:
    """Lines of a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


# ---------------------------------------------------------------- plot


def plot_curves(runs: list, path: Path) -> None:
    """Write validation score against epoch and wall seconds, per dataset, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    by_dataset = _group(runs, "dataset")
    figure = Figure(figsize=(12, 3.8 * len(by_dataset)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(by_dataset), 2, squeeze=False)
    for row, name in zip(axes, sorted(by_dataset)):
        _plot_dataset(row, name, by_dataset[name])
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write(path, buffer.getvalue())


def _plot_dataset(axes, name: str, runs: list) -> None:
    """Draw one dataset's two panels: one colour per model, one line per seed."""
    metric = f"valid {runs[0].get('valid_metric', COMPARE_METRIC)}"
    by_model = _group(runs, "model")
    for colour, model in enumerate(_model_order(by_model)):
        _plot_model(axes, model, by_model[model], f"C{colour}")
    for ax, xname, xlabel in zip(axes, ("epoch", "wall time"),
                                 ("epoch", "wall seconds since training start")):
        ax.set_title(f"{name}: {metric} vs {xname}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")


def _plot_model(axes, model: str, runs: list, colour: str) -> None:
    """Plot one line per seed of one model against epoch and wall seconds, labelled once."""
    for index, run in enumerate(runs):
        points = [entry for entry in run["history"] if entry.get("valid_score") is not None]
        label = f"{model} (seeds: {len(runs)})" if index == 0 else None
        style = {"color": colour, "marker": ".", "alpha": 0.8, "label": label}
        scores = [entry["valid_score"] for entry in points]
        axes[0].plot([entry["epoch"] for entry in points], scores, **style)
        axes[1].plot([entry["wall_seconds"] for entry in points], scores, **style)


# ---------------------------------------------------------------- files


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def load_runs(runs_dir: Path) -> list:
    """Read every run JSON in ``runs_dir``; unreadable or incomplete files are skipped."""
    runs = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable run file %s: %s", path, exc)
            continue
        missing = REQUIRED_RUN_KEYS - set(run) if isinstance(run, dict) else REQUIRED_RUN_KEYS
        if missing:
            log.warning("skipping run file %s: missing %s", path, ", ".join(sorted(missing)))
            continue
        runs.append(run)
    return runs


def write_report(out: Path, command: str, failures: list) -> Path:
    """Regenerate BENCH.md and curves.png from all run JSONs under ``out``; return BENCH.md."""
    runs = load_runs(out / "runs")
    report = out / "BENCH.md"
    text = render_markdown(summarise(runs, failures, command))
    atomic_write(report, text.encode("utf-8"))
    if runs:
        plot_curves(runs, out / "curves.png")
    return report


def _stored_spec(path: Path) -> dict | None:
    """The spec stored in a run JSON, or None if there is no readable one."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("spec")
    except (OSError, ValueError, AttributeError):
        return None


# ---------------------------------------------------------------- arguments


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises UserError instead of exiting."""

    def error(self, message):
        """Report a bad command line as a UserError."""
        raise UserError(f"{message} (see `{PROG} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``recbole-disen bench``."""
    parser = _Parser(prog=PROG, description="Train and compare DisenSeqRec with baselines "
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
                        metavar="[MODEL:]KEY=VALUE", help="config override for every run, or only "
                        "for MODEL; VALUE is a Python literal or a plain string (repeatable)")
    parser.add_argument("--no-progress", action="store_false", dest="show_progress",
                        help="hide training progress bars")
    return parser


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


def parse_value(text: str):
    """Parse an override value as a Python literal, falling back to the raw string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


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
        raise UserError(f"--set cannot change {key!r}: the benchmark sets it "
                        "(use --seeds for seeds)")
    value = parse_value(text.strip())
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
    """Return the config files as absolute paths; a missing one is a UserError."""
    resolved = [Path(path).resolve() for path in paths]
    for path, given in zip(resolved, paths):
        if not path.is_file():
            raise UserError(f"config file {given!r} does not exist")
    return [str(path) for path in resolved]


def resolve_dataset(text: str, data_dir: Path) -> DatasetRef:
    """Turn a ``--datasets`` item into a dataset name and, for paths, a data_path.

    An item is a path when it exists or looks like one (has a path separator or ends
    in ``.txt``); otherwise it is a RecBole dataset name.
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
    data_path, name = _convert_user_lines(path, data_dir)
    return DatasetRef(name, str(Path(data_path).resolve()))


def _convert_user_lines(src: Path, cache_dir: Path) -> tuple:
    """Convert a one-line-per-user file with ``recbole_disen.prepare`` (imported on use)."""
    from recbole_disen.prepare import ensure_user_lines_dataset

    return ensure_user_lines_dataset(src, cache_dir)


def check_limits(args: argparse.Namespace) -> None:
    """Reject a non-positive ``--budget`` or ``--jobs``."""
    if args.budget is not None and not args.budget > 0:
        raise UserError(f"--budget must be a positive number of seconds, got {args.budget}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")


# ---------------------------------------------------------------- planning


def plan_jobs(args: argparse.Namespace) -> list:
    """Validate the parsed arguments and return every run, dataset by dataset, seed by seed."""
    models = split_list(args.models, "--models")
    seeds = parse_seeds(args.seeds)
    shared, per_model = parse_overrides(args.overrides, models)
    config_files = resolve_config_files(args.config_files)
    check_limits(args)
    names = split_list(args.datasets, "--datasets")
    datasets = [resolve_dataset(name, args.out / "data") for name in names]
    _check_unique_names(datasets)
    return [
        make_job(args, dataset, model, seed, {**shared, **per_model.get(model, {})}, config_files)
        for dataset in datasets
        for seed in seeds
        for model in models
    ]


def _check_unique_names(datasets: list) -> None:
    """Two datasets with the same name would overwrite each other's results."""
    names = [dataset.name for dataset in datasets]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UserError(f"--datasets names dataset {duplicates[0]!r} more than once")


def make_job(args, dataset: DatasetRef, model: str, seed: int, overrides: dict,
             config_files: list) -> Job:
    """Build the spec of one run and where its outputs go."""
    config_dict = {**overrides, "seed": seed, **FIXED_SETTINGS}
    if dataset.data_path is not None:
        config_dict["data_path"] = dataset.data_path
    spec = {
        "model": model,
        "dataset": dataset.name,
        "seed": seed,
        "config_dict": config_dict,
        "config_files": config_files,
        "budget": args.budget,
    }
    run_key = f"{dataset.name}__{model}__seed{seed}"
    return Job(
        run_key=run_key,
        spec=json.loads(json.dumps(spec)),
        result_path=str((args.out / "runs" / f"{run_key}.json").resolve()),
        checkpoint_dir=str((args.out / "checkpoints" / run_key).resolve()),
        show_progress=args.show_progress,
    )


# ---------------------------------------------------------------- execution


def perform(job: Job, run_fn) -> None:
    """Execute one run with ``run_fn`` (the runner's ``run``) and store its JSON atomically."""
    Path(job.result_path).unlink(missing_ok=True)
    spec = job.spec
    result = run_fn(
        model=model_class(spec["model"]),
        dataset=spec["dataset"],
        config_files=spec["config_files"] or None,
        config_dict={"checkpoint_dir": job.checkpoint_dir, **spec["config_dict"]},
        time_budget=spec["budget"],
        show_progress=job.show_progress,
    )
    record = {**result, "model": spec["model"], "run_key": job.run_key, "spec": spec}
    atomic_write(Path(job.result_path), json.dumps(record, indent=1).encode("utf-8"))


def one_line_error(exc: BaseException) -> str:
    """The exception type and the first line of its message, without terminal colour codes."""
    lines = ANSI_ESCAPE.sub("", str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def run_in_process(job: Job, run_fn) -> str | None:
    """Execute a run in this process; return its one-line error or None."""
    log.info("run %s", job.run_key)
    try:
        perform(job, run_fn)
    except Exception as exc:  # noqa: BLE001 - one failing run must not stop the others
        log.error("run %s failed: %s", job.run_key, one_line_error(exc), exc_info=True)
        return one_line_error(exc)
    return None


def run_in_subprocess(job: Job) -> str | None:
    """Execute a run in a fresh ``python -m recbole_disen.bench --worker`` process.

    Returns the run's one-line error, or None when it stored its result.
    """
    log.info("run %s (worker process)", job.run_key)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="recbole-disen-bench-") as folder:
        job_file, error_file = Path(folder) / "job.json", Path(folder) / "error.txt"
        job_file.write_text(json.dumps({**asdict(job), "error_path": str(error_file)}))
        status = subprocess.run(worker_command(job_file), check=False).returncode
        error = _worker_error(status, error_file)
    log.info("run %s %s after %.0f s", job.run_key, "failed" if error else "done",
             time.monotonic() - started)
    return error


def worker_command(job_file: Path) -> list:
    """The command line of a worker process that executes ``job_file``."""
    return [sys.executable, "-m", MODULE, WORKER_FLAG, str(job_file)]


def _worker_error(status: int, error_file: Path) -> str | None:
    """Describe how a worker failed, or None if it exited with status 0."""
    if status == 0:
        return None
    if error_file.is_file():
        return error_file.read_text(encoding="utf-8").strip()
    if status < 0:
        return f"worker process killed by signal {-status}"
    return f"worker process exited with status {status}"


def work(argv: list) -> int:
    """Worker entry point: execute the job file named by ``argv`` with the real runner."""
    if len(argv) != 1:
        raise UserError(f"{WORKER_FLAG} expects one job file")
    job_data = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    error_path = Path(job_data.pop("error_path"))
    job = Job(**job_data)
    try:
        perform(job, _load_runner())
    except Exception as exc:  # noqa: BLE001 - reported to the parent through error_path
        log.exception("run %s failed", job.run_key)
        error_path.write_text(one_line_error(exc), encoding="utf-8")
        return 1
    return 0


def _load_runner():
    """Return ``recbole_disen.runner.run`` (imported on use: it pulls in torch and RecBole)."""
    from recbole_disen.runner import run

    return run


def execute_all(jobs: list, execute, parallel: int) -> list:
    """Call ``execute(job)`` for every job, ``parallel`` at a time; return the results in order.

    On an interrupt, queued jobs are cancelled and running ones are awaited.
    """
    if parallel == 1:
        return [execute(job) for job in jobs]
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = [pool.submit(execute, job) for job in jobs]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_pending(jobs: list, run_fn, parallel: int) -> list:
    """Execute the jobs whose stored spec differs; return ``(run_key, error)`` of failed runs."""
    pending = [job for job in jobs if _stored_spec(Path(job.result_path)) != job.spec]
    log.info("%d runs planned, %d already done, %d to run",
             len(jobs), len(jobs) - len(pending), len(pending))
    if run_fn is None:
        execute = run_in_subprocess
    else:
        execute = functools.partial(run_in_process, run_fn=run_fn)
    errors = execute_all(pending, execute, parallel)
    return [(job.run_key, error) for job, error in zip(pending, errors) if error is not None]


# ---------------------------------------------------------------- entry points


def cli(argv: list, run_fn=None) -> int:
    """Run ``recbole-disen bench`` with ``argv`` (without the word ``bench``).

    Each run executes in its own worker process. Passing ``run_fn`` (a function with
    the signature of ``recbole_disen.runner.run``) executes the runs in this process
    instead, in ``--jobs`` threads. Returns 0 if every run succeeded, else 1.
    Bad arguments raise UserError.
    """
    if argv[:1] == [WORKER_FLAG]:
        return work(argv[1:])
    args = build_parser().parse_args(argv)
    if args.report_only:
        report = write_report(args.out, f"{PROG} {shlex.join(argv)}".strip(), [])
        sys.stdout.write(f"report: {report}\n")
        return 0
    if not args.datasets:
        raise UserError(f"--datasets is required (see `{PROG} --help`)")
    jobs = plan_jobs(args)
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    failures = run_pending(jobs, run_fn, args.jobs)
    report = write_report(args.out, f"{PROG} {shlex.join(argv)}".strip(), failures)
    outcome = f"{len(failures)} of {len(jobs)} runs failed" if failures else "all runs succeeded"
    sys.stdout.write(f"{outcome}; report: {report}\n")
    return 1 if failures else 0


def main(argv: list) -> int:
    """``python -m recbole_disen.bench``: log to stderr and turn a UserError into status 2."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        return cli(argv)
    except UserError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
