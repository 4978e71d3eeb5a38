"""A bench run's checkpoint folder: continue an interrupted run there, or set earlier files aside.

``<out>/checkpoints/<run key>/`` holds the run's best and last-epoch checkpoints and ``spec.json``,
the spec they were trained under. A run continues from the last-epoch checkpoint only when that spec
equals its own: any setting, budget, config file's contents, data file's contents or package default
that differs starts it again from the first epoch, and the earlier files move into a new ``earlier-N/`` beside them (never deleted). A lock held
while the run works keeps a second bench process off the folder; the operating system releases it
when the process ends, however it ends, so an interrupted run leaves no stale lock.
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


@contextlib.contextmanager
def claimed(folder):
    """Hold ``folder``'s lock during the block; a UserError (one line) if another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{folder} is in use by another bench process: let that one finish, "
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
        number = 1
        while (folder / f"earlier-{number}").exists():
            number += 1
        aside = folder / f"earlier-{number}"
        aside.mkdir()
        for path in earlier:
            path.rename(aside / path.name)
        log.warning("%s: the files of an earlier run that cannot be continued (other settings, data or "
                    "defaults) were moved into %s", folder, aside)
    files.write_json(folder / SPEC_FILE, spec)
