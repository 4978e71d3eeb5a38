"""The ``recbole-disen bench`` command: plan the runs, execute the pending ones, write the report."""

import json
import logging
import shlex
import sys
from pathlib import Path

from recbole_disen.bench import execute, horizon_summary, outdir, plot, report
from recbole_disen.bench.plan import PROG, build_parser, plan_jobs
from recbole_disen.bench.summary import USER_SCORES_KEY, summarise
from recbole_disen.errors import UserError, sigterm_as_interrupt

log = logging.getLogger(__name__)

PACKAGE_LOGGER = "recbole_disen.bench"  # the parent of every bench module's logger
REQUIRED_RUN_KEYS = frozenset(
    {"model", "dataset", "seed", "test_result", "test_user_ids", USER_SCORES_KEY, "history"}
)


def load_runs(runs_dir: Path) -> list:
    """Read every run JSON in ``runs_dir``; unreadable or incomplete files are skipped."""
    runs = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            run = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("skipping unreadable run file %s: %s", path, exc)
            continue
        missing = _required_keys(run) - set(run) if isinstance(run, dict) else REQUIRED_RUN_KEYS
        if missing:
            log.warning("skipping run file %s: missing %s", path, ", ".join(sorted(missing)))
            continue
        runs.append(run)
    return runs


def _required_keys(run: dict) -> frozenset:
    """What the report reads of a run: a horizon run's per-user horizon scores and dropped users besides."""
    if horizon_summary.horizon_of(run):
        return REQUIRED_RUN_KEYS | horizon_summary.REQUIRED_RUN_KEYS
    return REQUIRED_RUN_KEYS


def write_outputs(out: Path, command: str, failures: list) -> Path:
    """Rebuild BENCH.md and curves.png from all run JSONs under ``out``; return BENCH.md's path."""
    runs = load_runs(out / "runs")
    path = report.write_markdown(out / "BENCH.md", summarise(runs, failures, command))
    if runs:
        plot.write_curves(out / "curves.png", runs)
    return path


def cli(argv: list, run_fn=None) -> int:
    """Run ``recbole-disen bench`` with ``argv`` (without the word ``bench``).

    Each run executes in its own worker process. Passing ``run_fn`` (a function with
    the signature of ``recbole_disen.runner.run``) executes the runs in this process
    instead, in ``--jobs`` threads. Returns 0 if every run succeeded, else 1.
    Bad arguments raise UserError; ``--out`` (``outdir``), the arguments and each model's settings (as the
    runner checks them) are checked before anything is written.
    """
    args = build_parser().parse_args(argv)
    command = f"{PROG} {shlex.join(argv)}".strip()
    if args.report_only:
        outdir.check_for_report(args.out)
        sys.stdout.write(f"report: {write_outputs(args.out, command, [])}\n")
        return 0
    if not args.datasets:
        raise UserError(f"--datasets is required (see `{PROG} --help`)")
    outdir.check_for_runs(args.out)
    jobs = plan_jobs(args, command)
    execute.check_settings(jobs)
    execute.convert_user_lines(jobs)
    outdir.make_runs_folder(args.out)
    failures = execute.run_pending(jobs, run_fn, args.jobs)
    path = write_outputs(args.out, command, failures)
    outcome = f"{len(failures)} of {len(jobs)} runs failed" if failures else "all runs succeeded"
    sys.stdout.write(f"{outcome}; report: {path}\n")
    return 1 if failures else 0


def log_to_stderr() -> None:
    """The package's log lines (``HH:MM:SS LEVEL message``) go to stderr, once per process."""
    package_log = logging.getLogger(PACKAGE_LOGGER)
    if not package_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        package_log.addHandler(handler)
    package_log.setLevel(logging.INFO)
    package_log.propagate = False


def main(argv: list) -> int:
    """``recbole-disen bench`` and ``python -m recbole_disen.bench``: log to stderr, a UserError is
    one line and status 2."""
    log_to_stderr()
    try:
        with sigterm_as_interrupt():
            return cli(argv)
    except UserError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: run the same command again to continue (finished runs are kept, and an "
                         "interrupted one continues from its last epoch)\n")
        return 130
