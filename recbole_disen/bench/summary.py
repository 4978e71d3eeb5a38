"""The bench's summary: pure functions over run dictionaries (as stored in ``runs/``).

The next-item tables are built here from the runs without a horizon; ``horizon_summary`` builds the
horizon tables, and ``compare`` holds the statistics both use.
"""

import json
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from recbole_disen.bench.compare import (
    BEYOND_METRICS, PROTOCOLS, comparisons, group, mean_std, metric_of, model_order, protocol_means,
)
from recbole_disen.bench.horizon_summary import horizon_of, summarise_horizons
from recbole_disen.bench.mixed import mixed_rows

TABLE_METRICS = ("recall@10", "ndcg@10", "mrr@10", "recall@20", "ndcg@20")
COMPARE_METRIC = "ndcg@10"
USER_SCORES_KEY = "test_user_ndcg@10"
MIB = 2**20
PROTOCOL_METRICS = ("ndcg@10", "recall@10")  # of each protocol (compare.PROTOCOLS), beside BEYOND_METRICS


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
class ProtocolRow:
    """One model's test metrics under both ranking protocols and what its top 10 holds, over seeds."""

    model: str
    seeds: list
    metrics: dict  # (protocol, metric of PROTOCOL_METRICS or BEYOND_METRICS) -> (mean, std or None)
    seen_share: tuple  # share of RecBole's top-10 slots holding items the user had before: (mean, std)
    targets_seen: list  # per seed: test targets the user had before (with seen items removed, they miss)


@dataclass(frozen=True)
class DatasetSummary:
    """The table rows and comparisons of one dataset."""

    name: str
    rows: list
    comparisons: list
    protocol_rows: tuple = ()  # ProtocolRow of each model with runs under both protocols
    protocol_comparisons: tuple = ()  # (protocol, Comparison) on per-user NDCG@10 under that protocol
    horizons: tuple = ()  # HorizonSummary of each horizon N with runs
    mixed: tuple = ()  # (row label, [what differs, seed by seed]) of each row whose runs' specs differ


@dataclass(frozen=True)
class Summary:
    """Everything BENCH.md shows."""

    command: str
    n_runs: int
    versions: list
    machines: list
    datasets: list
    failures: list  # (run_key, one-line error)
    commands: tuple = ()  # (command, number of runs) of the commands the runs record making them


# ---------------------------------------------------------------- summary


def summarise(runs: list, failures=(), command: str = "") -> Summary:
    """Aggregate run dictionaries into a :class:`Summary`."""
    by_dataset = group(runs, "dataset")
    return Summary(
        command=command,
        n_runs=len(runs),
        versions=_distinct(run.get("versions") for run in runs),
        machines=_distinct(run.get("machine") for run in runs),
        datasets=[_summarise_dataset(name, by_dataset[name]) for name in sorted(by_dataset)],
        failures=list(failures),
        commands=tuple(Counter(run["command"] for run in runs if run.get("command")).items()),
    )


def _distinct(items) -> list:
    """Return the distinct non-empty dictionaries among ``items``, in first-seen order."""
    unique = {json.dumps(item, sort_keys=True): item for item in items if item}
    return list(unique.values())


def _summarise_dataset(name: str, runs: list) -> DatasetSummary:
    """Build the table rows and the DisenSeqRec comparisons of one dataset: next-item, then each horizon."""
    by_model = group([run for run in runs if not horizon_of(run)], "model")
    models = model_order(by_model)
    rows = [_model_row(model, by_model[model]) for model in models]
    both = {model: [run for run in by_model[model] if run.get("test_result_unseen")] for model in models}
    both = {model: model_runs for model, model_runs in both.items() if model_runs}
    return DatasetSummary(
        name, rows, comparisons(by_model, COMPARE_METRIC, USER_SCORES_KEY),
        protocol_rows=tuple(_protocol_row(model, model_runs) for model, model_runs in both.items()),
        protocol_comparisons=tuple(
            (protocol, comparison) for protocol in PROTOCOLS
            for comparison in comparisons({model: _under(model_runs, protocol) for model, model_runs in both.items()},
                                          COMPARE_METRIC, USER_SCORES_KEY)
        ),
        horizons=summarise_horizons(runs),
        mixed=mixed_rows(runs),
    )


def _under(runs: list, protocol: str) -> list:
    """The runs with their test result and per-user NDCG@10 those of ``protocol``."""
    return [{**run, "test_result": run[f"test_result_{protocol}"],
             USER_SCORES_KEY: run[f"{USER_SCORES_KEY}_{protocol}"]} for run in runs]


def _protocol_row(model: str, runs: list) -> ProtocolRow:
    """Aggregate both protocols' metrics and the beyond-accuracy metrics of one model's seeds."""
    metrics = {**protocol_means(runs, "result", PROTOCOL_METRICS), **protocol_means(runs, "beyond", BEYOND_METRICS)}
    return ProtocolRow(
        model=model,
        seeds=[run["seed"] for run in runs],
        metrics=metrics,
        seen_share=mean_std([math.nan if run.get("test_seen_share@10") is None else run["test_seen_share@10"]
                             for run in runs]),
        targets_seen=[run.get("test_targets_seen") for run in runs],
    )


def _model_row(model: str, runs: list) -> ModelRow:
    """Aggregate the seeds of one model on one dataset."""
    return ModelRow(
        model=model,
        seeds=[run["seed"] for run in runs],
        metrics={
            metric: mean_std([metric_of(run, metric) for run in runs])
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


def _reduce(runs: list, key: str, reducer) -> float:
    """Apply ``reducer`` (``np.median``, ``np.mean``) to the present ``run[key]``; NaN if none."""
    values = [run[key] for run in runs if run.get(key) is not None]
    return float(reducer(values)) if values else math.nan
