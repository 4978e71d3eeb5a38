"""Atomic writes: the old file or the whole new one, never a part, and no temporary file left behind."""

import errno
import os
import subprocess
import sys

import pytest

from recbole_disen import cli, files
from recbole_disen.errors import UserError


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_open(target) as stream:
            stream.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


class FullDisk:
    """A file on a disk that is full: every write fails as a write to a full disk does."""

    def __init__(self, *args, **kwargs):
        self.file = open(*args, **kwargs)

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def test_a_full_disk_is_one_line_naming_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    target.write_text("old")
    monkeypatch.setattr(files, "open", FullDisk, raising=False)
    with pytest.raises(UserError) as caught:
        with files.atomic_open(target) as stream:
            stream.write(b"half of the new")
    assert str(caught.value) == f"cannot write {target}: No space left on device; make room there or choose another folder"
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]
    with pytest.raises(FileNotFoundError):  # an error of another kind is not reworded
        with files.atomic_open(target):
            raise FileNotFoundError(errno.ENOENT, "some input")
    with pytest.raises(PermissionError):  # nor the block's own error, whatever its kind (reading an input)
        with files.atomic_open(target):
            raise PermissionError(errno.EACCES, "an input it cannot read")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_folder_that_is_a_file_is_the_error_raised(tmp_path):
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(FileExistsError):  # not an error of the clean-up of a file never made
        files.write_text(tmp_path / "taken" / "report.md", "x")


# A checkpoint that fills the disk half-way: torch.save turns the failed write into a RuntimeError of its
# own, so the file's size limit of the process (SIGXFSZ ignored: the write fails with EFBIG) stands in.
FULL_DISK = """
import resource, signal, sys, torch
from recbole_disen import checkpoint
from recbole_disen.errors import UserError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
try:
    checkpoint.save_atomic({"weights": torch.zeros(100_000)}, sys.argv[1])
except UserError as error:
    print(error)
"""


def test_a_checkpoint_that_fills_the_disk_half_way_is_one_line_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.pth"
    target.write_bytes(b"the old checkpoint")
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(target)], capture_output=True, text=True, timeout=120)
    assert done.stdout == f"cannot write {target}: File too large; make room there or choose another folder\n", done.stderr
    assert target.read_bytes() == b"the old checkpoint" and [p.name for p in tmp_path.iterdir()] == ["model.pth"]


def test_a_run_whose_checkpoint_cannot_be_written_says_so_in_one_line(tmp_path, monkeypatch, capsys, tiny_settings):
    monkeypatch.chdir(tmp_path)

    def full_disk(source, target):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "replace", full_disk)
    code = cli.main(["--dataset=tiny", *[f"--{key}={value}" for key, value in tiny_settings.items()]])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[-1].startswith(f"error: cannot write {tmp_path / 'saved'}")
    assert err[-1].endswith(": No space left on device; make room there or choose another folder")
    assert not any("Traceback" in line for line in err)


def test_writes_replace_the_file_and_create_its_folder(tmp_path):
    target = tmp_path / "new" / "folder" / "report.md"
    files.write_text(target, "a\nb\n")
    files.write_json(target.with_suffix(".json"), {"x": [1, 2]})
    assert target.read_bytes() == b"a\nb\n"
    assert target.with_suffix(".json").read_text() == '{\n "x": [\n  1,\n  2\n ]\n}'
    files.write_bytes(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG" and sorted(p.name for p in target.parent.iterdir()) == ["report.json", "report.md"]


def test_a_claimed_stem_is_never_claimed_again_nor_one_whose_files_exist(tmp_path):
    stem = str(tmp_path / "SASRec-Dec-01-2026_12-00-00")
    endings = ["-last.pth", ".pth"]
    first, second = files.claim_free_stem(stem, endings), files.claim_free_stem(stem, endings)  # nothing written
    assert (first, second) == (stem, f"{stem}-2")
    (tmp_path / "SASRec-Dec-01-2026_12-00-00-3.pth").write_bytes(b"theirs")  # the other ending taken
    assert files.claim_free_stem(stem, endings) == f"{stem}-4"
    assert (tmp_path / "SASRec-Dec-01-2026_12-00-00-3.pth").read_bytes() == b"theirs"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "SASRec-Dec-01-2026_12-00-00-2-last.pth", "SASRec-Dec-01-2026_12-00-00-3.pth",
        "SASRec-Dec-01-2026_12-00-00-4-last.pth", "SASRec-Dec-01-2026_12-00-00-last.pth"]


def test_an_empty_last_checkpoint_is_a_claim_never_written_not_a_checkpoint(tmp_path):
    (tmp_path / "a-last.pth").write_bytes(b"epoch 3")
    (tmp_path / "b-last.pth").write_bytes(b"")  # newer, but empty
    assert files.last_checkpoint_in(tmp_path) == str(tmp_path / "a-last.pth")
