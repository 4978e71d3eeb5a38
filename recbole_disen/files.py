"""Writing files safely. Files are written atomically: to a temporary file in the same folder, then moved
onto the target with ``os.replace``, so a reader (or a run interrupted half-way) sees the old file or the
whole new one, never a part of it, and a failed write leaves no temporary file behind. Output folders are
checked and made before the work (``folder_problem``, ``make_folder``, ``made_for``), new checkpoint
names are claimed without taking an existing file's (``claim_free_stem``), and the last-epoch
checkpoint to resume from is found (``last_checkpoint_in``)."""

import contextlib
import errno
import hashlib
import itertools
import json
import os
import tempfile
import uuid
from pathlib import Path

from recbole_disen.errors import UserError, one_line

# Why a file cannot be written that the user can act on, and what to do: a full disk or quota, a file
# too large for the file system or the process's limit, a read-only file system, no permission.
ROOM, ELSEWHERE = "make room there or choose another folder", "choose a folder you can write to"
WRITE_ERRORS = {errno.ENOSPC: ROOM, errno.EDQUOT: ROOM, errno.EFBIG: ROOM,
                errno.EROFS: ELSEWHERE, errno.EACCES: ELSEWHERE, errno.EPERM: ELSEWHERE}


class _WriteRecorder:
    """A file whose failed writes are kept in ``error``: torch.save reports a write that failed half-way
    (a disk that fills during a checkpoint) as a RuntimeError of its own, without the OSError."""

    def __init__(self, stream):
        self._stream = stream
        self.error = None

    def write(self, data):
        return self._recorded(self._stream.write, data)

    def writelines(self, lines):
        return self._recorded(self._stream.writelines, lines)

    def _recorded(self, write, data):
        try:
            return write(data)
        except OSError as error:
            self.error = error
            raise

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def atomic_open(path, text=False):
    """A new file to write ``path`` through: binary, or with ``text`` UTF-8 with ``\\n`` line ends.

    The target's folder is created if missing. The file replaces ``path`` when the block ends without
    an exception; on an exception it is removed and ``path`` is left as it was. A write that fails for a
    reason the user can act on (a full disk or quota, a read-only or forbidden folder: ``WRITE_ERRORS``)
    is one UserError line naming the file; an error of the block's own (reading an input, say) is not.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    stream, created, in_block = None, False, False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "x", encoding="utf-8", newline="\n") if text else open(temporary, "xb") as raw:
            created, stream = True, _WriteRecorder(raw)
            in_block = True
            yield stream
            in_block = False  # closing flushes the last bytes: a failure there is the write's
        os.replace(temporary, path)
    except BaseException as error:
        if created:
            temporary.unlink(missing_ok=True)
        if stream is not None and stream.error is not None:
            cause = stream.error  # a write that failed, whatever the writer made of it
        else:
            cause = None if in_block else error  # an error of the block's own is left as it is
        if isinstance(cause, OSError) and cause.errno in WRITE_ERRORS:
            raise UserError(f"cannot write {path}: {cause.strerror}; {WRITE_ERRORS[cause.errno]}") from None
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path) as stream:
        stream.write(data)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (UTF-8, ``\\n`` line ends)."""
    with atomic_open(path, text=True) as stream:
        stream.write(text)


def write_json(path, value):
    """Write ``value`` to ``path`` atomically as indented JSON."""
    write_text(path, json.dumps(value, indent=1))


def folder_problem(path):
    """Why files cannot be written into a folder at ``path`` (it or a parent is a file, or no folder can be
    made where it would go), or None. Nothing is left behind: the folder that tells is made and removed."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        current = os.path.dirname(current)
    if not os.path.isdir(current):
        return f"{current} is a file, not a folder"
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".recbole-disen-write-check-", dir=current))
    except OSError as error:
        return f"no folder can be made in {current} ({error.strerror or one_line(error)})"
    return None


def make_folder(folder, what):
    """Create ``folder`` and its parents if missing, before the work whose output goes there: one
    UserError line naming ``what`` (the setting or option) when that is not possible."""
    problem = folder_problem(folder)
    if problem:
        raise UserError(f"{what} {folder}: {problem}; choose another place")
    Path(folder).mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def made_for(folder, what):
    """``make_folder`` for the work of the block; when the block fails, the folders this made are removed
    again as long as they are empty (a failed command leaves no empty folder behind)."""
    folder = Path(folder).absolute()
    missing = [path for path in (folder, *folder.parents) if not path.exists()]  # the deepest first
    make_folder(folder, what)
    try:
        yield folder
    except BaseException:
        for path in missing:
            with contextlib.suppress(OSError):
                path.rmdir()
        raise


def claim_free_stem(stem, endings):
    """The first of ``stem``, ``stem-2``, ``stem-3``, ... for which no file ``stem + ending`` exists, for
    each of ``endings``. The file of the first ending is created (empty, exclusively) before this returns,
    so that another process claiming the same stem at the same moment moves on to the next one."""
    for number in itertools.count(1):
        candidate = stem if number == 1 else f"{stem}-{number}"
        if any(os.path.exists(candidate + ending) for ending in endings[1:]):
            continue
        try:
            with open(candidate + endings[0], "xb"):
                return candidate
        except FileExistsError:
            continue


def last_checkpoint_in(folder):
    """The newest '-last.pth' checkpoint in ``folder`` (a run's last epoch, to resume from), or None."""
    folder = Path(folder)
    # an empty one is a name a run claimed and never wrote (it was killed in its first epoch)
    candidates = [path for path in folder.glob("*-last.pth") if path.stat().st_size] if folder.is_dir() else []
    return str(max(candidates, key=lambda path: path.stat().st_mtime_ns)) if candidates else None


def sha256_of(path):
    """The SHA-256 hex digest of the file at ``path``'s contents (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
