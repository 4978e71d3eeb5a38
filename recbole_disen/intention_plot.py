"""The intention picture (PNG, matplotlib's Agg canvas, no pyplot state): one user's history with p(k|i)
and p_i, the top items of each intention, and a dataset's mass and top-k wins per intention.
"""

import io

import numpy as np

from recbole_disen import item_names

LABEL_WIDTH = 40  # characters of an item name shown in the picture
ROW_INCHES = 0.26  # height of one history item or one text line
WIDTH_INCHES = 15.0
SUMMARY_INCHES = 3.2


def render(user=None, summary=None, names=None, dataset_name="", dpi=100):
    """PNG bytes of the picture: the user's panels (a UserIntentions), the dataset's (a DatasetIntentions), or both."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = names or {}
    parts = [part for part in (user, summary) if part is not None]
    heights = ([_user_inches(user)] if user is not None else []) + ([SUMMARY_INCHES] if summary is not None else [])
    figure = Figure(figsize=(WIDTH_INCHES, sum(heights)), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subfigures(len(parts), 1, height_ratios=heights, squeeze=False)[:, 0]
    if user is not None:
        _draw_user(panels[0], user, names)
    if summary is not None:
        _draw_summary(panels[-1], summary, dataset_name)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _user_inches(user):
    """Height that fits the history (one row per item) and the top-items text (one line per item)."""
    n_intents, top_n = len(user.top_items), len(user.top_items[0]) if user.top_items else 0
    text_lines = n_intents * (top_n + 2)
    return 1.6 + ROW_INCHES * max(len(user.items), text_lines, 4)


def _draw_user(panel, user, names):
    """Heatmap of p(k|i) (items x K), bars of p_i beside it, and each intention's top items."""
    n_items, n_intents = user.assignment.shape
    panel.suptitle(
        f"user {user.user}: how each of the last {n_items} items (oldest at top, most recent at bottom) "
        "splits over the intentions, and what each intention recommends",
        fontsize=11,
    )
    heat, bars, text = panel.subplots(
        1, 3, gridspec_kw={"width_ratios": [0.9 * n_intents + 0.4, 2.2, 4.6]}, sharey=False
    )
    image = heat.imshow(user.assignment, aspect="auto", cmap="Blues", vmin=0.0, vmax=1.0)
    for (row, col), value in np.ndenumerate(user.assignment):
        heat.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=7,
                  color="white" if value > 0.6 else "black")
    heat.set_yticks(range(n_items), [item_names.label(item, names, LABEL_WIDTH) for item in user.items], fontsize=8)
    heat.set_xticks(range(n_intents), [f"k={k}\nm={m:.2f}" for k, m in enumerate(user.mass)], fontsize=8)
    heat.xaxis.tick_top()
    heat.set_title("p(k|i): intention of each item\n(m = assignment mass)", fontsize=9)
    heat.set_ylabel("history: oldest at top, most recent at bottom", fontsize=9)
    panel.colorbar(image, ax=heat, location="bottom", shrink=0.8, fraction=0.03, label="p(k|i)")

    bars.barh(range(n_items), user.importance, color="tab:orange")
    bars.set_ylim(n_items - 0.5, -0.5)
    bars.set_yticks(range(n_items), [""] * n_items)
    bars.set_xlim(0, max(float(user.importance.max()) * 1.15, 1e-6))
    bars.set_title("p_i: weight of each item\nfor the future", fontsize=9)
    bars.tick_params(axis="x", labelsize=7)
    bars.grid(axis="x", alpha=0.3)

    text.axis("off")
    text.set_title("top items of each intention, by <phi_k, e_j>", fontsize=9, loc="left")
    text.text(0.0, 1.0, _top_items_text(user, names), va="top", ha="left", family="monospace", fontsize=9.5,
              transform=text.transAxes)


def _top_items_text(user, names):
    """One block per intention: its mass, then its top items with their scores."""
    lines = []
    for k, (items, mass) in enumerate(zip(user.top_items, user.mass)):
        lines.append(f"intention {k}  (m = {mass:.2f})")
        lines += [f"  {rank}. {item_names.label(item, names, LABEL_WIDTH)}  {score:.2f}"
                  for rank, (item, score) in enumerate(items, start=1)]
        lines.append("")
    return "\n".join(lines)


def _draw_summary(panel, summary, dataset_name):
    """Two bar charts over the intentions: mean assignment mass, and share of top-k wins."""
    n_intents = len(summary.mass)
    where = f"{dataset_name}: " if dataset_name else ""
    panel.suptitle(f"{where}all {summary.rows} test rows", fontsize=11)
    mass_ax, wins_ax = panel.subplots(1, 2)
    for ax, values, title, colour in (
        (mass_ax, summary.mass, "mean assignment mass m_k", "tab:blue"),
        (wins_ax, summary.wins, f"share of top-{summary.k} items whose best intention is k", "tab:green"),
    ):
        ax.bar(range(n_intents), values, color=colour, width=0.5)
        for k, value in enumerate(values):
            ax.text(k, value, f"{value:.2f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(n_intents), [f"k={k}" for k in range(n_intents)])
        ax.set_ylim(0, 1.05)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
