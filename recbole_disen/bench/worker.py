"""The bench's worker process: ``python -m recbole_disen.bench.worker JOB_FILE``.

It executes the one run described by the job file (written by ``execute.run_in_subprocess``) with the
real runner. A failure goes to the file named by the job's ``error_path`` as one line, for the parent
to report; no traceback is printed.
"""

import ctypes
import json
import os
import signal
import sys
from pathlib import Path

from recbole_disen.bench.command import log_to_stderr
from recbole_disen.bench.execute import failure_line, perform
from recbole_disen.bench.plan import Job
from recbole_disen.errors import sigterm_as_interrupt


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def stop_with_parent():
    """On Linux, have the kernel send this process SIGTERM when the bench that started it dies, even by
    SIGKILL (which the bench cannot pass on): the run then stops as on Ctrl-C, its last epoch kept to
    continue from, instead of training on as an orphan beside the bench's next attempt."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the bench died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _load_runner():
    """Return ``recbole_disen.runner.run`` (imported on use: it pulls in torch and RecBole)."""
    from recbole_disen.runner import run

    return run


def main(argv: list) -> int:
    """Execute the job file named by ``argv``; 0 when its result is stored, 1 when it failed."""
    if len(argv) != 1:
        sys.stderr.write("error: the bench worker expects one job file\n")
        return 2
    log_to_stderr()  # the run's own lines: where it continues from, earlier files set aside
    job_data = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    error_path = Path(job_data.pop("error_path"))
    try:
        with sigterm_as_interrupt():
            stop_with_parent()
            perform(Job(**job_data), _load_runner())
    except KeyboardInterrupt:  # the bench's own interrupt reports it; the run continues when it is rerun
        return 130
    except Exception as exc:  # noqa: BLE001 - reported to the parent through error_path
        error_path.write_text(failure_line(exc), encoding="utf-8")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
