"""Tiny data and settings that every test builds for itself (no network, no ../shared)."""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from recbole_disen import cli

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

# Small model, few epochs, CPU: each end-to-end run takes seconds.
TINY = {
    "gpu_id": "", "epochs": 2, "train_batch_size": 64, "eval_batch_size": 64, "hidden_size": 16,
    "inner_size": 32, "n_layers": 1, "MAX_ITEM_LIST_LENGTH": 10, "show_progress": False,
    "stopping_step": 10, "seed": 2020, "worker": 0,
    "keep_freed_memory": False,  # the test process keeps glibc's default allocator (tests/test_allocator.py)
}


def write_inter(folder, name, sequences):
    """A RecBole atomic file for ``{user: [item, ...]}``, timestamps = positions."""
    path = folder / name
    path.mkdir(parents=True, exist_ok=True)
    lines = ["user_id:token\titem_id:token\ttimestamp:float"]
    for user, items in sequences.items():
        lines += [f"{user}\t{item}\t{t}" for t, item in enumerate(items, start=1)]
    (path / f"{name}.inter").write_text("\n".join(lines) + "\n")
    return path / f"{name}.inter"


def tiny_sequences(n_users=60, n_items=40, seed=0):
    """Users walk through items in a few recurring orders, so there is something to learn."""
    rng = np.random.default_rng(seed)
    sequences = {}
    for user in range(1, n_users + 1):
        length = int(rng.integers(5, 13))
        start, step = int(rng.integers(1, n_items + 1)), int(rng.integers(1, 4))
        sequences[f"u{user}"] = [f"i{(start + step * t) % n_items + 1}" for t in range(length)]
    return sequences


def settings_of(model, settings):
    """``settings`` without the architecture settings that ``model`` does not have (the runner refuses
    another model's settings): TINY's sizes are for the Transformer models."""
    from recbole_disen.config import known_keys

    return {key: value for key, value in settings.items() if key in known_keys(model)}


def model_in(words, default="DisenSeqRec"):
    """The model a command line's ``--model=NAME`` names, or ``default``."""
    named = [word.partition("=")[2] for word in words if word.startswith("--model=")]
    return named[-1] if named else default


def one_error_line(capsys, *, after_log=False, quiet_stdout=False):
    """The ``error: ...`` line (with its newline) that a command wrote to stderr, checked to be all it wrote
    there (``after_log``: its last line, after log lines) and no traceback; ``quiet_stdout``: and nothing
    on stdout."""
    captured = capsys.readouterr()
    err = captured.err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err and not (quiet_stdout and captured.out)
    assert err.endswith(errors[0] + "\n") and (after_log or err.count("\n") == 1)
    return errors[0] + "\n"


@pytest.fixture
def tiny_data(tmp_path):
    """(data_path, dataset name) of a tiny generated dataset."""
    write_inter(tmp_path / "data", "tiny", tiny_sequences())
    return tmp_path / "data", "tiny"


@pytest.fixture
def tiny_settings(tmp_path, tiny_data):
    """TINY settings pointing at the tiny dataset, writing into tmp_path."""
    data_path, _ = tiny_data
    return {**TINY, "data_path": str(data_path), "checkpoint_dir": str(tmp_path / "saved")}


BENCH_SETTINGS = ["epochs=2", "hidden_size=16", "inner_size=32", "n_layers=1", "MAX_ITEM_LIST_LENGTH=10",
                  "train_batch_size=64", "eval_batch_size=64", "gpu_id=''"]


def tiny_bench(folder, models, *extra):
    """``recbole-disen bench`` of ``models`` (comma-separated), seed 2020, on folder/tiny.txt (written
    from tiny_sequences when missing), into folder/out; its return code."""
    data = folder / "tiny.txt"
    if not data.exists():
        data.write_text("".join(f"{user} {' '.join(items)}\n" for user, items in tiny_sequences().items()))
    argv = ["bench", "--datasets", str(data), "--models", models, "--seeds", "2020", "--out", str(folder / "out"),
            "--no-progress", *extra]
    for setting in BENCH_SETTINGS:
        argv += ["--set", setting]
    return cli.main(argv)


def load_benchmark(name):
    """A script of benchmarks/ (not a package) as a module; its sibling imports resolve as when it runs."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)
