"""Executing the planned runs: in this process or each in a worker process, ``--jobs`` at a time.

A run's JSON is written (atomically) only once the run has succeeded, so a failing re-run never
removes a finished result. A failed run is reported as one line; the others go on.
"""

import functools
import json
import logging
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from recbole_disen import files
from recbole_disen.bench import folder
from recbole_disen.bench.plan import model_class, same_spec
from recbole_disen.errors import ResumeRefused, UserError, one_line

log = logging.getLogger(__name__)

WORKER_MODULE = "recbole_disen.bench.worker"


def convert_user_lines(jobs: list) -> None:
    """Convert each one-line-per-user file the jobs name into its atomic file, once, before any run.

    ``prepare`` is imported on use; it converts only when the atomic file is missing or was converted
    from another source (another file, or other contents).
    """
    from recbole_disen.prepare import ensure_user_lines_dataset

    sources = {(job.user_lines, job.spec["config_dict"]["data_path"], job.spec["inputs"]["data_sha256"])
               for job in jobs if job.user_lines}
    for source, data_path, sha256 in sorted(sources):
        ensure_user_lines_dataset(source, data_path, sha256)


def run_arguments(job) -> dict:
    """The arguments of the runner's ``run`` for ``job`` (``resume`` aside)."""
    spec = job.spec
    return dict(
        model=model_class(spec["model"]),
        dataset=spec["dataset"],
        config_files=spec["config_files"] or None,
        config_dict={"checkpoint_dir": job.checkpoint_dir, **spec["config_dict"]},
        time_budget=spec["budget"],
        show_progress=job.show_progress,
    )


def check_settings(jobs: list) -> None:
    """Build the config of each model's runs on each dataset as the runner does, before any run starts: an
    unknown model or setting, or a value the runner refuses, is the runner's own one-line UserError, named
    by model and dataset (the seeds' runs differ in their seed alone). Nothing is read but the settings and
config files, and nothing is left behind (checkpoint_dir's check makes and removes a folder)."""
    from recbole_disen.runner import build_config  # imports torch and RecBole's models: only when runs are planned

    for job in {(job.spec["model"], job.spec["dataset"]): job for job in jobs}.values():
        arguments = run_arguments(job)
        try:
            build_config(arguments["model"], arguments["dataset"], arguments["config_files"], arguments["config_dict"])
        except UserError as error:
            raise UserError(f"{job.spec['model']} on {job.spec['dataset']}: {error}") from None


def perform(job, run_fn) -> None:
    """Execute one run with ``run_fn`` (the runner's ``run``); store its JSON once it succeeded.

    A run that was interrupted continues from the last-epoch checkpoint in its folder when that was
    trained under the same spec (``folder``); otherwise, or when the runner refuses the checkpoint
    (other data), it starts again from the first epoch, the earlier files set aside. The JSON of an
    earlier run of the same key is replaced only once the run succeeded (a run that fails leaves it
    as it was), and then moved aside beside that run's checkpoints (``folder.set_aside``), never lost.
    """
    spec, arguments = job.spec, run_arguments(job)
    with folder.claimed(job.checkpoint_dir):
        result, last = None, folder.resumable(job.checkpoint_dir, spec)
        if last is not None:
            log.info("run %s continues from %s", job.run_key, last)
            try:
                result = run_fn(**arguments, resume=last)
            except ResumeRefused as refused:
                log.warning("run %s cannot continue from %s (%s): it starts again", job.run_key, last,
                            one_line(refused).removeprefix("--resume: "))
        if result is None:
            folder.start_afresh(job.checkpoint_dir, spec)
            result = run_fn(**arguments)
        folder.set_aside(job.checkpoint_dir, job.result_path, stored_spec(Path(job.result_path)))
        record = {**result, "model": spec["model"], "run_key": job.run_key, "command": job.command, "spec": spec}
        files.write_json(job.result_path, record)


def in_use(error: str | None) -> bool:
    """Whether a run's one-line error says another bench process holds it (``folder.RunInUse``)."""
    return bool(error) and error.startswith(f"{folder.RunInUse.__name__}: ")


def failure_line(exc: BaseException) -> str:
    """How a failed run is reported: the exception's type and the first line of its message."""
    return one_line(exc, with_type=True, first_line=True)


def run_in_process(job, run_fn) -> str | None:
    """Execute a run in this process; return its one-line error or None."""
    log.info("run %s", job.run_key)
    try:
        perform(job, run_fn)
    except Exception as exc:  # noqa: BLE001 - one failing run must not stop the others
        if not in_use(failure_line(exc)):
            log.error("run %s failed: %s", job.run_key, failure_line(exc))
        return failure_line(exc)
    return None


def run_in_subprocess(job, running: set) -> str | None:
    """Execute a run in a fresh ``python -m recbole_disen.bench.worker`` process, in ``running`` while it runs.

    Returns the run's one-line error, or None when it stored its result. Interrupted here, it interrupts
    the worker as Ctrl-C does and waits for it (``stop_workers``).
    """
    log.info("run %s (worker process)", job.run_key)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="recbole-disen-bench-") as folder:
        job_file, error_file = Path(folder) / "job.json", Path(folder) / "error.txt"
        job_file.write_text(json.dumps({**asdict(job), "error_path": str(error_file)}))
        process = subprocess.Popen(worker_command(job_file))
        running.add(process)
        try:
            status = process.wait()
        except KeyboardInterrupt:
            stop_workers({process})
            raise
        finally:
            running.discard(process)
        error = _worker_error(status, error_file)
    if not error:
        log.info("run %s done after %.0f s", job.run_key, time.monotonic() - started)
    elif not in_use(error):  # a run left to another bench process is said by run_pending
        log.error("run %s failed after %.0f s: %s", job.run_key, time.monotonic() - started, error)
    return error


def stop_workers(processes: set) -> None:
    """Interrupt each worker process as Ctrl-C does (its run keeps its last epoch to continue from) and
    wait for them all. A plain ``kill`` of the bench reaches the workers this way; Ctrl-C reaches them
    itself, and a second one does no harm."""
    for process in list(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in list(processes):
        process.wait()


def worker_command(job_file: Path) -> list:
    """The command line of a worker process that executes ``job_file``."""
    return [sys.executable, "-m", WORKER_MODULE, str(job_file)]


def _worker_error(status: int, error_file: Path) -> str | None:
    """Describe how a worker failed, or None if it exited with status 0."""
    if status == 0:
        return None
    if error_file.is_file():
        return error_file.read_text(encoding="utf-8").strip()
    if status < 0:
        return f"worker process killed by signal {-status}"
    return f"worker process exited with status {status}"


def execute_all(jobs: list, execute, parallel: int, on_interrupt=None) -> list:
    """Call ``execute(job)`` for every job, ``parallel`` at a time; return the results in order.

    On an interrupt, queued jobs are cancelled, ``on_interrupt()`` stops the running ones, and they are awaited.
    """
    if parallel == 1:
        return [execute(job) for job in jobs]
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        futures = [pool.submit(execute, job) for job in jobs]
        return [future.result() for future in futures]
    except KeyboardInterrupt:
        if on_interrupt:
            on_interrupt()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_pending(jobs: list, run_fn, parallel: int) -> list:
    """Execute the jobs whose stored spec differs; return ``(run_key, error)`` of failed runs.

    ``run_fn`` None executes each run in a worker process, otherwise in this process.
    """
    pending = [job for job in jobs if not same_spec(stored_spec(Path(job.result_path)), job.spec)]
    log.info("%d runs planned, %d already done, %d to run",
             len(jobs), len(jobs) - len(pending), len(pending))
    running = set()  # the worker processes in flight
    if run_fn is None:
        execute = functools.partial(run_in_subprocess, running=running)
    else:
        execute = functools.partial(run_in_process, run_fn=run_fn)
    errors = execute_all(pending, execute, parallel, on_interrupt=lambda: stop_workers(running))
    left = [job.run_key for job, error in zip(pending, errors) if in_use(error)]
    if left:
        log.warning("%d runs left to the other bench process running them (their results join this folder when "
                    "it is done): %s", len(left), ", ".join(left))
    return [(job.run_key, error) for job, error in zip(pending, errors) if error is not None and not in_use(error)]


def stored_spec(path: Path) -> dict | None:
    """The spec stored in a run JSON, or None if there is no readable one."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("spec")
    except (OSError, ValueError, AttributeError):
        return None
