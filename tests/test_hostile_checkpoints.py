"""Checkpoints that pass torch's weights_only check yet carry code or wrong types in their settings.

Every command that reads a checkpoint (``recommend`` and ``--resume``) is given each of them: it
stops with one line, the file the code would create does not exist, and nothing in the checkpoint
folder changes.
"""

import os

import pytest
import torch

from conftest import TINY, one_error_line, tiny_sequences, write_inter
from recbole_disen import cli
from recbole_disen.runner import run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(run result, its settings) of a tiny 1-epoch DisenSeqRec run."""
    folder = tmp_path_factory.mktemp("hostile")
    write_inter(folder / "data", "tiny", tiny_sequences())
    settings = {**TINY, "epochs": 1, "data_path": str(folder / "data"), "checkpoint_dir": str(folder / "saved")}
    return run("DisenSeqRec", "tiny", config_dict=settings), settings


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def code(marker):
    return f"__import__('pathlib').Path({str(marker)!r}).touch() or 1"


# (where in the checkpoint, the value put there): code in settings RecBole would have eval()ed, data
# of the wrong type, and objects that are not plain data.
CASES = {
    "seed": (["config", "seed"], code),
    "valid_metric": (["config", "valid_metric"], code),
    "hidden_size": (["config", "hidden_size"], code),
    "metrics": (["config", "metrics"], code),
    "topk": (["config", "topk"], code),
    "metrics-list": (["config", "metrics"], lambda marker: [code(marker)]),
    "eval_args": (["config", "eval_args"], code),
    "MAX_ITEM_LIST_LENGTH": (["config", "MAX_ITEM_LIST_LENGTH"], code),
    "tensor-seed": (["config", "seed"], lambda marker: torch.tensor(1)),
    "model": (["config", "model"], lambda marker: ["DisenSeqRec"]),
    "weights": (["state_dict"], lambda marker: {"x": 1}),
    "epoch": (["epoch"], code),
}


def hostile_copy(source, target, case, marker):
    """``source`` with one field replaced, saved to ``target``; torch's weights_only loading accepts it."""
    state = torch.load(source, weights_only=True)
    keys, make = CASES[case]
    holder = state
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = make(marker)
    torch.save(state, target)
    torch.load(target, weights_only=True)
    return str(target)


def files_of(folder):
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in folder.iterdir()}


@pytest.mark.parametrize("case", CASES)
def test_recommend_runs_no_code_from_a_checkpoint(trained, tmp_path, capsys, case):
    result, _ = trained
    marker = tmp_path / "ran"
    path = hostile_copy(result["checkpoint"], tmp_path / "model.pth", case, marker)
    assert cli.main(["recommend", path, "--users", "u1"]) == 2
    assert one_error_line(capsys, after_log=True).startswith(f"error: cannot load checkpoint {path}: ")
    assert not marker.exists()


@pytest.mark.parametrize("case", CASES)
def test_resume_runs_no_code_from_a_checkpoint(trained, tmp_path, capsys, case):
    result, settings = trained
    marker, saved = tmp_path / "ran", tmp_path / "saved"
    saved.mkdir()
    path = hostile_copy(result["last_checkpoint"], saved / "DisenSeqRec-x-last.pth", case, marker)
    before = files_of(saved)
    argv = ["--dataset=tiny", *[f"--{k}={v}" for k, v in {**settings, "checkpoint_dir": saved}.items()], f"--resume={path}"]
    assert cli.main(argv) == 2
    assert one_error_line(capsys, after_log=True).startswith("error: --resume: ")
    assert not marker.exists() and files_of(saved) == before
    assert not os.path.exists(tmp_path / "log")  # refused before RecBole's logger or anything else started


@pytest.mark.parametrize("case, refused", [("seed", False), ("weights", True)])
def test_the_best_checkpoint_tested_after_a_resume_runs_no_code(trained, tmp_path, capsys, case, refused):
    """The best checkpoint next to a '-last.pth' file is read for the test (its weights only), checked too."""
    result, settings = trained
    marker, saved = tmp_path / "ran", tmp_path / "saved"
    saved.mkdir()
    last = saved / "DisenSeqRec-x-last.pth"
    last.write_bytes(open(result["last_checkpoint"], "rb").read())
    hostile_copy(result["checkpoint"], saved / "DisenSeqRec-x.pth", case, marker)
    argv = ["--dataset=tiny", *[f"--{k}={v}" for k, v in {**settings, "checkpoint_dir": saved}.items()], f"--resume={last}"]
    assert cli.main(argv) == (2 if refused else 0)  # the finished run trains nothing and tests its best weights
    if refused:
        assert one_error_line(capsys, after_log=True).startswith(f"error: cannot load checkpoint {saved / 'DisenSeqRec-x.pth'}: ")
    assert not marker.exists()


def test_a_checkpoint_cut_short_is_named_as_such(trained, tmp_path, capsys):
    result, _ = trained
    data = open(result["checkpoint"], "rb").read()
    path = tmp_path / "cut.pth"
    for length in (0, 10, 100, 5000, len(data) // 2, len(data) - 1):  # 5000: torch's seek fails with EINVAL
        path.write_bytes(data[:length])
        assert cli.main(["recommend", str(path), "--users", "u1"]) == 2
        line = one_error_line(capsys, after_log=True)
        assert line.startswith(f"error: cannot load checkpoint {path}: the file is ") and "cut short" in line
