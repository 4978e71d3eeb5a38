"""DisenSeqRec against each baseline: runs grouped and ordered, seeds aggregated, and the paired tests.

Pure functions over run dictionaries (as stored in ``runs/``), shared by every table of the report.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from recbole_disen.bench.plan import PROPOSED, model_class


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


def user_mean_scores(runs: list, user_key: str) -> tuple:
    """Average each user's per-user test score ``run[user_key]`` over the given runs; return ``(user_ids, means)``."""
    ids = np.concatenate([np.asarray(run["test_user_ids"], dtype=np.int64) for run in runs])
    scores = np.concatenate([np.asarray(run[user_key], dtype=float) for run in runs])
    unique_ids, inverse = np.unique(ids, return_inverse=True)
    return unique_ids, np.bincount(inverse, weights=scores) / np.bincount(inverse)


# ---------------------------------------------------------------- runs and models


def group(runs: list, key: str) -> dict:
    """Group runs by the value of ``key``, each group sorted by seed."""
    groups = {}
    for run in sorted(runs, key=lambda run: run["seed"]):
        groups.setdefault(run[key], []).append(run)
    return groups


def is_proposed(label: str) -> bool:
    """DisenSeqRec itself or a variant of it (``DisenSeqRec@name``)."""
    return model_class(label) == PROPOSED


def model_order(models) -> list:
    """Order model labels: DisenSeqRec first, its variants next, then the baselines alphabetically."""
    return sorted(models, key=lambda model: (model != PROPOSED, not is_proposed(model), model))


# The runner tests each model under both ranking protocols: RecBole's (all items ranked) and with each
# user's earlier items removed; runs made before that have neither and are left out of those tables.
PROTOCOLS = ("recbole", "unseen")
BEYOND_METRICS = ("itemcoverage@10", "averagepopularity@10", "giniindex@10", "tailpercentage@10", "entropy@10")


def protocol_means(runs: list, part: str, names) -> dict:
    """(protocol, metric) -> (mean, std) over the runs of ``run[f"test_{part}_{protocol}"][metric]`` for
    ``part`` "result" or "beyond" (NaN where a run lacks it)."""
    return {
        (protocol, metric): mean_std([(run.get(f"test_{part}_{protocol}") or {}).get(metric, math.nan) for run in runs])
        for protocol in PROTOCOLS
        for metric in names
    }


def metric_of(run: dict, metric: str) -> float:
    """A run's test metric, NaN if it was not computed."""
    return run["test_result"].get(metric, math.nan)


# ---------------------------------------------------------------- comparisons


def comparisons(by_model: dict, metric: str, user_key: str) -> list:
    """Each DisenSeqRec label against each baseline, and each variant (``DisenSeqRec@name``) also against
    DisenSeqRec as shipped (an ablation: with against without), on their common seeds (models in report
    order): the mean of test ``metric`` and the paired tests on the per-user scores ``run[user_key]``."""
    models = model_order(by_model)
    baselines = [model for model in models if not is_proposed(model)]
    found = []
    for proposed in filter(is_proposed, models):
        shipped = [PROPOSED] if proposed != PROPOSED and PROPOSED in by_model else []
        for baseline in baselines + shipped:
            comparison = _compare(proposed, by_model[proposed], baseline, by_model[baseline], metric, user_key)
            if comparison is not None:
                found.append(comparison)
    return found


def _compare(proposed_label: str, proposed_runs: list, baseline: str, baseline_runs: list,
             metric: str, user_key: str) -> Comparison | None:
    """Compare DisenSeqRec with one baseline on their common seeds (None if there are none)."""
    seeds = sorted({run["seed"] for run in proposed_runs} & {run["seed"] for run in baseline_runs})
    if not seeds:
        return None
    proposed = [run for run in proposed_runs if run["seed"] in seeds]
    other = [run for run in baseline_runs if run["seed"] in seeds]
    proposed_mean, _ = mean_std([metric_of(run, metric) for run in proposed])
    baseline_mean, _ = mean_std([metric_of(run, metric) for run in other])
    return Comparison(
        proposed=proposed_label,
        baseline=baseline,
        seeds=seeds,
        proposed_mean=proposed_mean,
        baseline_mean=baseline_mean,
        relative_change=relative_change(proposed_mean, baseline_mean),
        test=paired_test(*user_mean_scores(proposed, user_key), *user_mean_scores(other, user_key)),
    )
