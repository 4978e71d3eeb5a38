"""curves.png: validation score against epoch and wall seconds, one row of panels per dataset (and per horizon
N of its ``--horizon`` runs, whose validation score is horizon NDCG@10).

matplotlib is imported on use: only this part of the bench needs it.
"""

import io
from pathlib import Path

from recbole_disen import files
from recbole_disen.bench.compare import group, model_order
from recbole_disen.bench.horizon_summary import horizon_of
from recbole_disen.bench.summary import COMPARE_METRIC


def write_curves(path: Path, runs: list) -> Path:
    """Write validation score against epoch and wall seconds, per dataset and horizon, as a PNG (atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = {}  # (dataset, horizon N or 0 for next-item runs) -> its runs
    for run in runs:
        panels.setdefault((run["dataset"], horizon_of(run)), []).append(run)
    figure = Figure(figsize=(12, 3.8 * len(panels)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 2, squeeze=False)
    for row, (name, horizon) in zip(axes, sorted(panels)):
        _plot_dataset(row, f"{name}, horizon {horizon}" if horizon else name, panels[(name, horizon)])
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    files.write_bytes(path, buffer.getvalue())
    return path


def _plot_dataset(axes, name: str, runs: list) -> None:
    """Draw one dataset's two panels: one colour per model, one line per seed."""
    metric = f"valid {runs[0].get('valid_metric', COMPARE_METRIC)}"
    by_model = group(runs, "model")
    for colour, model in enumerate(model_order(by_model)):
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
