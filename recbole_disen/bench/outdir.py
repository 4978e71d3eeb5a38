"""The results folder, ``--out``: which folders the bench writes into.

A bench folder is one that holds a ``runs/`` folder: the bench makes it before its first run, so every
folder a bench command ran in has one. The bench runs into a bench folder, into a folder that does not
exist yet, or into an existing folder that holds none of the names it writes there (``BENCH.md``,
``curves.png``, ``checkpoints/``), so a file of the user's own is never written over; under ``data/`` it
replaces only a file it converted itself (``prepare.ensure_user_lines_dataset``). ``--report-only`` needs
a bench folder: it rebuilds the report from ``runs/``.
"""

from pathlib import Path

from recbole_disen import files
from recbole_disen.errors import UserError

RUNS = "runs"
WRITTEN = ("BENCH.md", "curves.png", "checkpoints")  # what the bench writes beside runs/


def check_for_runs(out: Path) -> None:
    """Refuse an ``--out`` that the bench cannot run into without replacing a file it did not write."""
    _check_folder(out)
    if (out / RUNS).exists() and not (out / RUNS).is_dir():
        raise UserError(f"--out {out} holds a file named {RUNS}, where the bench keeps its runs: choose another --out")
    if (out / RUNS).is_dir():
        return
    taken = [name for name in WRITTEN if (out / name).exists()]
    if taken:
        raise UserError(f"--out {out} is not a bench folder (it has no {RUNS}/ folder) and holds {taken[0]}, "
                        "which the bench would replace: choose another --out")


def check_for_report(out: Path) -> None:
    """Refuse an ``--out`` without runs to report (``--report-only``)."""
    _check_folder(out)
    if not (out / RUNS).is_dir():
        raise UserError(f"--out {out} has no {RUNS}/ folder, so no bench runs to report: "
                        "give the --out of an earlier bench command")


def make_runs_folder(out: Path) -> None:
    """Create ``out/runs/``, which makes ``out`` a bench folder."""
    files.make_folder(out / RUNS, "--out")


def _check_folder(out: Path) -> None:
    """``out`` must be a folder, or one that can be made (``files.folder_problem``)."""
    problem = files.folder_problem(out)
    if problem:
        raise UserError(f"--out {out}: {problem}; choose another --out")
