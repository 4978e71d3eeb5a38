"""A bench run's checkpoint folder: continue an interrupted run there, or set earlier files aside.

``<out>/checkpoints/<run key>/`` holds the run's best and last-epoch checkpoints and ``spec.json``,
the spec they were trained under. A run continues from the last-epoch checkpoint only when that spec
equals its own: any setting, budget, config file's contents, data file's contents or package default
that differs starts it again from the first epoch, and the earlier files move into a new ``earlier-N/``
beside them (never deleted); when that run succeeds, the earlier run's JSON in ``runs/`` joins its
checkpoints there. A lock held while the run works keeps a second bench process off the folder; the
operating system releases it when the process ends, however it ends, so an interrupted run leaves no
stale lock.
"""

import contextlib
import fcntl
import json
import logging
from pathlib import Path

from recbole_disen import files
from recbole_disen.bench.plan import same_spec
from recbole_disen.errors import UserError

log = logging.getLogger(__name__)

SPEC_FILE = "spec.json"
LOCK_FILE = ".lock"


class RunInUse(UserError):
    """A run that another bench process is running: left to it, not a failure of this bench."""


@contextlib.contextmanager
def claimed(folder):
    """Hold ``folder``'s lock during the block; a RunInUse (one line) if another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInUse(f"{folder} is in use by another bench process: let that one finish, "
                            "or give this bench another --out") from None
        yield  # closing the file releases the lock


def stored_spec(folder):
    """The spec recorded in ``folder``, or None."""
    try:
        return json.loads((Path(folder) / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def resumable(folder, spec):
    """The last-epoch checkpoint of ``folder`` to continue a run of ``spec`` from, or None."""
    last = files.last_checkpoint_in(folder)
    return last if last is not None and same_spec(stored_spec(folder), spec) else None


def start_afresh(folder, spec):
    """Set every earlier file of ``folder`` aside (into a new ``earlier-N/``) and record ``spec``."""
    folder = Path(folder)
    kept = same_spec(stored_spec(folder), spec)  # then spec.json alone (no epoch ended yet) stays where it is
    earlier = sorted(path for path in folder.iterdir() if path.is_file() and path.name != LOCK_FILE
                     and not (kept and path.name == SPEC_FILE))
    if earlier:
        aside = _new_earlier(folder)
        for path in earlier:
            path.rename(aside / path.name)
        log.warning("%s: the files of an earlier run that cannot be continued (other settings, data or "
                    "defaults) were moved into %s", folder, aside)
    files.write_json(folder / SPEC_FILE, spec)


def set_aside(folder, path, spec):
    """Move the run JSON at ``path``, which the run of ``folder`` now replaces (``spec``: the spec it holds, or
    None), into the ``earlier-N/`` of ``folder`` that holds that earlier run's checkpoints: the newest whose
    ``spec.json`` is ``spec`` and holds no file of its name yet, or a new one (its checkpoints gone, or a
    JSON without a spec). Nothing when there is no such file."""
    folder, path = Path(folder), Path(path)
    if not path.exists():
        return
    matching = [aside for aside in _earlier(folder)
                if spec is not None and stored_spec(aside) == spec and not (aside / path.name).exists()]
    aside = matching[-1] if matching else _new_earlier(folder)
    path.rename(aside / path.name)
    log.warning("%s: a run of other settings, data or defaults replaces it; the earlier JSON was moved into %s",
                path, aside)


def _earlier(folder):
    """The ``earlier-N/`` folders of ``folder``, oldest first."""
    found, number = [], 1
    while (folder / f"earlier-{number}").exists():
        found.append(folder / f"earlier-{number}")
        number += 1
    return found


def _new_earlier(folder):
    """A new, empty ``earlier-N/`` in ``folder`` (N one more than the last)."""
    aside = folder / f"earlier-{len(_earlier(folder)) + 1}"
    aside.mkdir()
    return aside
