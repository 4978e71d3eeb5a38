"""Atomic writes: the old file or the whole new one, never a part, and no temporary file left behind."""

import pytest

from recbole_disen import files


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_open(target) as stream:
            stream.write(b"half of the new")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_writes_replace_the_file_and_create_its_folder(tmp_path):
    target = tmp_path / "new" / "folder" / "report.md"
    files.write_text(target, "a\nb\n")
    files.write_json(target.with_suffix(".json"), {"x": [1, 2]})
    assert target.read_bytes() == b"a\nb\n"
    assert target.with_suffix(".json").read_text() == '{\n "x": [\n  1,\n  2\n ]\n}'
    files.write_bytes(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG" and sorted(p.name for p in target.parent.iterdir()) == ["report.json", "report.md"]
