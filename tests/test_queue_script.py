"""benchmarks/cpu_queue.sh refuses a missing list before it takes anything from it."""

import subprocess
from pathlib import Path

QUEUE = Path(__file__).resolve().parents[1] / "benchmarks" / "cpu_queue.sh"


def queue(env, tmp_path):
    return subprocess.run(["bash", str(QUEUE)], env={"PATH": "/usr/bin:/bin", **env}, cwd=tmp_path,
                          capture_output=True, text=True, check=False)


def test_without_a_list_the_queue_says_what_to_set(tmp_path):
    done = queue({}, tmp_path)
    assert done.returncode != 0 and "set LIST to the file of pieces to run" in done.stderr


def test_a_list_that_is_not_a_file_is_refused(tmp_path):
    done = queue({"LIST": str(tmp_path / "nowhere.txt")}, tmp_path)
    assert done.returncode == 2 and f"LIST {tmp_path / 'nowhere.txt'} is not a file" in done.stderr


def test_python_without_the_package_leaves_the_list_untouched(tmp_path):
    pieces = tmp_path / "pieces.txt"
    pieces.write_text("beauty-2020\nbeauty-2021\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\nexit 1\n")  # a python3 that cannot import recbole_disen
    (fake / "python3").chmod(0o755)
    done = subprocess.run(["bash", str(QUEUE)], env={"PATH": f"{fake}:/usr/bin:/bin", "LIST": str(pieces),
                          "STATE": str(tmp_path / "state")}, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "lacks recbole, torch or matplotlib" in done.stderr
    assert pieces.read_text() == "beauty-2020\nbeauty-2021\n"
