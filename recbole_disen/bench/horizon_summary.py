"""The bench's horizon tables: runs made with ``--horizon N`` (``recbole_disen.horizon``), per dataset and N.

Pure functions over run dictionaries, like ``summary``; the paired tests are ``compare``'s, on each test
user's horizon NDCG@10.
"""

import math
from dataclasses import dataclass

from recbole_disen.bench.compare import BEYOND_METRICS, comparisons, group, mean_std, metric_of, model_order, protocol_means

SET_METRICS = ("horizon_recall@10", "horizon_ndcg@10")  # the horizon's items as a set
COMPARE_METRIC = "horizon_ndcg@10"
USER_SCORES_KEY = "test_user_horizon_ndcg@10"  # aligned with test_user_ids
REQUIRED_RUN_KEYS = frozenset({USER_SCORES_KEY, "horizon_dropped_users"})  # of a horizon run, besides a next-item run's


@dataclass(frozen=True)
class HorizonRow:
    """One model's horizon test metrics on one dataset and N, aggregated over seeds."""

    model: str
    seeds: list
    metrics: dict  # name of horizon_metrics(N) -> (mean, sample std or None with one seed)
    seen_share: tuple  # share of the test top-10 slots holding items the user had before: (mean, std)
    beyond: dict  # (protocol, metric of BEYOND_METRICS) -> (mean, std) of the test top 10s; empty before protocols
    dropped_users: list  # the distinct counts of users too short for the horizon, over the seeds


@dataclass(frozen=True)
class HorizonSummary:
    """The horizon table and its DisenSeqRec comparisons on one dataset for one N."""

    horizon: int
    rows: list
    comparisons: list  # Comparison on test horizon NDCG@10, paired on per-user horizon NDCG@10


def horizon_of(run: dict) -> int:
    """The horizon N a run was tested on: 0 for a next-item run (and a run made before the horizon existed)."""
    return run.get("horizon") or 0


def horizon_metrics(horizon: int) -> tuple:
    """The table's metrics: horizon Recall@10 and NDCG@10, then the MRR of future item i = 1..N, then
    whether future item i is in the top 10 (its hit@10)."""
    positions = range(1, horizon + 1)
    return (*SET_METRICS, *(f"horizon_pos{i}_mrr" for i in positions), *(f"horizon_pos{i}_hit@10" for i in positions))


def summarise_horizons(runs: list) -> tuple:
    """A :class:`HorizonSummary` for each N among the runs of one dataset, by N (next-item runs left out)."""
    by_horizon = group([run for run in runs if horizon_of(run)], "horizon")
    return tuple(_summarise_horizon(horizon, by_horizon[horizon]) for horizon in sorted(by_horizon))


def _summarise_horizon(horizon: int, runs: list) -> HorizonSummary:
    """The rows and comparisons of one dataset's runs with horizon N."""
    by_model = group(runs, "model")
    return HorizonSummary(
        horizon=horizon,
        rows=[_horizon_row(model, by_model[model], horizon) for model in model_order(by_model)],
        comparisons=comparisons(by_model, COMPARE_METRIC, USER_SCORES_KEY),
    )


def _horizon_row(model: str, runs: list, horizon: int) -> HorizonRow:
    """Aggregate the seeds of one model with horizon N."""
    return HorizonRow(
        model=model,
        seeds=[run["seed"] for run in runs],
        metrics={metric: mean_std([metric_of(run, metric) for run in runs]) for metric in horizon_metrics(horizon)},
        seen_share=mean_std([math.nan if run.get("test_seen_share@10") is None else run["test_seen_share@10"]
                             for run in runs]),
        beyond=protocol_means(runs, "beyond", BEYOND_METRICS) if all(run.get("test_beyond_recbole") for run in runs) else {},
        dropped_users=sorted({run["horizon_dropped_users"] for run in runs}),
    )
