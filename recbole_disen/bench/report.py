"""BENCH.md: the Markdown report of a :class:`~recbole_disen.bench.summary.Summary`."""

import math
from pathlib import Path

from recbole_disen import files
from recbole_disen.bench.plan import PROPOSED
from recbole_disen.bench.compare import Comparison
from recbole_disen.bench.horizon_summary import HorizonSummary, horizon_metrics
from recbole_disen.bench.summary import (
    BEYOND_METRICS, PROTOCOL_METRICS, PROTOCOLS, TABLE_METRICS, DatasetSummary, ModelRow, Summary,
)

PROTOCOL_NAMES = {"recbole": "RecBole's", "unseen": "seen removed"}
METRIC_NAMES = {"ndcg@10": "NDCG@10", "recall@10": "Recall@10"}
BEYOND_NAMES = ["ItemCoverage@10", "AveragePopularity@10", "GiniIndex@10", "TailPercentage@10", "Entropy@10 (nats)"]


def write_markdown(path: Path, summary: Summary) -> Path:
    """Write the report of ``summary`` to ``path`` (atomically); return ``path``."""
    files.write_text(path, render_markdown(summary))
    return path


def render_markdown(summary: Summary) -> str:
    """Render a :class:`Summary` as the text of BENCH.md."""
    lines = _header_lines(summary)
    for dataset in summary.datasets:
        lines += _dataset_lines(dataset)
    lines += _command_lines(summary) + _failure_lines(summary.failures)
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
    """The next-item results and comparison tables of one dataset (if it has next-item runs), then each horizon's."""
    header = ["Model", "Seeds", "Recall@10", "NDCG@10", "MRR@10", "Recall@20", "NDCG@20",
              "Best epoch(s)", "Epochs run", "Median s/epoch", "Test eval s", "Peak memory (MiB)",
              "Params", "Budget-cut runs"]
    lines = [f"## {dataset.name}", ""] + _mixed_lines(dataset)
    if dataset.rows:  # a dataset with horizon runs only has no next-item tables
        lines += _table(header, [_row_cells(row) for row in dataset.rows]) + [""]
        lines += _comparison_lines(dataset) + [""] + _protocol_lines(dataset)
    return lines + [line for horizon in dataset.horizons for line in _horizon_lines(dataset.name, horizon)]


def _mixed_lines(dataset: DatasetSummary) -> list:
    """The warning about rows whose seeds were run under different settings (nothing if none were)."""
    if not dataset.mixed:
        return []
    note = ("**Mixed settings.** These rows average seeds that were not run under the same settings, so their "
            "mean ± std and paired tests mix them (`recbole_disen/bench/mixed.py`); run those seeds again "
            "under one set of settings, or give each set its own `--models` label (`MODEL@name`):")
    return [note, ""] + [f"- {label}: {'; '.join(differences)}" for label, differences in dataset.mixed] + [""]


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
    title = f"### {PROPOSED} vs baselines, and its variants vs {PROPOSED}, on {dataset.name} (test NDCG@10)"
    return _comparison_table(title, dataset.comparisons, "NDCG@10")


def _comparison_table(title: str, comparisons: list, metric: str) -> list:
    """A DisenSeqRec-against-baselines table on ``metric`` (``NDCG@10``), with its title and note."""
    if not comparisons:
        return [title, "", f"No {PROPOSED} and baseline runs with a common seed.", ""]
    rows = [_comparison_cells(comparison) for comparison in comparisons]
    return [title, "", _paired_note(metric), ""] + _table(_comparison_header(metric), rows)


def _protocol_lines(dataset: DatasetSummary) -> list:
    """Both ranking protocols side by side with their paired tests, and the top 10's beyond-accuracy
    metrics (nothing for runs made before the runner tested under both)."""
    if not dataset.protocol_rows:
        return []
    header = ["Model", "Seeds", *(f"{METRIC_NAMES[m]}, {PROTOCOL_NAMES[p]}" for p in PROTOCOLS for m in PROTOCOL_METRICS),
              "Share of RecBole's top 10 seen before", "Test targets seen before"]
    rows = [[row.model, _join(row.seeds),
             *(_format_mean_std(*row.metrics[(p, m)]) for p in PROTOCOLS for m in PROTOCOL_METRICS),
             _format_mean_std(*row.seen_share), _join(row.targets_seen)] for row in dataset.protocol_rows]
    note = ("The same trained models tested twice. RecBole's: every item ranked, the user's earlier items "
            "included. Seen removed (S3Rec's protocol): every item the user interacted with before the "
            "target is taken out of the ranking, so a user whose target is such an item misses.")
    lines = [f"### Both ranking protocols on {dataset.name} (test)", "", note, ""] + _table(header, rows) + [""]
    return lines + _protocol_comparison_lines(dataset) + _beyond_lines(dataset)


def _protocol_comparison_lines(dataset: DatasetSummary) -> list:
    """The DisenSeqRec-against-baselines paired tests under each protocol."""
    rows = [[PROTOCOL_NAMES[p], *_comparison_cells(c)] for p, c in dataset.protocol_comparisons]
    if not rows:
        return []
    title = f"### {PROPOSED} vs baselines, and its variants vs {PROPOSED}, on {dataset.name} under both protocols (test NDCG@10)"
    return [title, "", _paired_note("NDCG@10"), ""] + _table(["Protocol", *_comparison_header("NDCG@10")], rows) + [""]


def _beyond_lines(dataset: DatasetSummary) -> list:
    """The beyond-accuracy metrics of each model's test top 10 under each protocol."""
    return _beyond_table(f"### Beyond accuracy on {dataset.name} (test top 10)",
                         [(row.model, row.metrics) for row in dataset.protocol_rows])


def _beyond_table(title: str, models: list) -> list:
    """A beyond-accuracy table of ``models``, (name, {(protocol, metric): (mean, std)}), a row per protocol."""
    rows = [[model, PROTOCOL_NAMES[p], *(_format_mean_std(*metrics[(p, m)]) for m in BEYOND_METRICS)]
            for model, metrics in models for p in PROTOCOLS]
    note = ("Of all test users' top-10 lists: the share of items recommended at least once, the mean "
            "training count of a recommended item, the Gini index of how often each item is recommended, "
            "the share of recommended items in the long tail (the 10% least trained, RecBole's "
            "`tail_ratio`), and the Shannon entropy of the recommended items (`recbole_disen/metrics.py`).")
    return [title, "", note, ""] + _table(["Model", "Protocol", *BEYOND_NAMES], rows) + [""]


def _horizon_lines(name: str, horizon: HorizonSummary) -> list:
    """The horizon table of one dataset and N, and its DisenSeqRec-against-baselines tests."""
    n = horizon.horizon
    positions = range(1, n + 1)
    header = ["Model", "Seeds", "Recall@10", "NDCG@10", *(f"MRR, item {i}" for i in positions),
              *(f"Hit@10, item {i}" for i in positions), "Share of the top 10 seen before", "Dropped users"]
    rows = [[row.model, _join(row.seeds), *(_format_mean_std(*row.metrics[m]) for m in horizon_metrics(n)),
             _format_mean_std(*row.seen_share), _join(row.dropped_users)] for row in horizon.rows]
    note = (f"Runs made with `--horizon {n}` (README, \"Horizon evaluation\"): each user's last {n} interactions "
            "are the test horizon, ranked once from the history before them. Recall@10 and NDCG@10 score the "
            "horizon's distinct items as a set; MRR, item i is the reciprocal rank of the i-th future item in the "
            "full ranking, under the ranking protocol in force (RecBole's unless `eval_exclude_seen`), and Hit@10, "
            "item i whether it is in the top 10. Validation, "
            f"one horizon earlier, stops on horizon NDCG@10. Users with fewer than {2 * n + 2} interactions are dropped.")
    lines = [f"### Horizon {n} on {name} (test)", "", note, ""] + _table(header, rows) + [""]
    title = f"### {PROPOSED} vs baselines, and its variants vs {PROPOSED}, on {name}, horizon {n} (test horizon NDCG@10)"
    lines += _comparison_table(title, horizon.comparisons, "horizon NDCG@10") + [""]
    beyond = [(row.model, row.beyond) for row in horizon.rows if row.beyond]
    if beyond:  # the one list per user that the horizon is scored on
        lines += _beyond_table(f"### Beyond accuracy on {name}, horizon {n} (test top 10)", beyond)
    return lines


def _comparison_header(metric: str) -> list:
    """Header of a DisenSeqRec-against-baselines table on ``metric`` (``NDCG@10``)."""
    return ["Model", "Baseline", "Common seeds", f"Model {metric}", f"Baseline {metric}", "Relative change",
            "Users", "Mean diff", "Wilcoxon W", "Wilcoxon p", "t-test p"]


def _paired_note(metric: str) -> str:
    """How the paired tests on per-user ``metric`` were made."""
    return (f"Per-user {metric} is averaged over the common seeds, users are paired by id; "
            "Wilcoxon signed-rank and paired t-test, two-sided.")


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


def _command_lines(summary: Summary) -> list:
    """The commands that made the runs, as their JSON records them (nothing when that is this one alone)."""
    if not {command for command, _ in summary.commands} - {summary.command}:
        return []
    lines = ["## Commands", "", "The runs were made by these bench commands (each run's JSON records its own):", ""]
    return lines + [f"- `{command}`: {count} run{'s' * (count != 1)}" for command, count in summary.commands] + [""]


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
