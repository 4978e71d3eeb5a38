"""The bench continues an interrupted run from its last-epoch checkpoint (real runner, tiny data)."""

import json
import logging
import os
import shutil
import signal
import time

import pytest

from conftest import tiny_sequences
from recbole_disen import files, runner
from recbole_disen.bench import command, folder
from recbole_disen.errors import UserError
from recbole_disen.trainer import DisenTrainer

SETTINGS = ["epochs=3", "hidden_size=16", "inner_size=32", "n_layers=1", "MAX_ITEM_LIST_LENGTH=10",
            "train_batch_size=64", "eval_batch_size=64", "gpu_id=''"]
RUN = "tiny__SASRec__seed2020"


def bench(data, out, *settings, config_files=()):
    argv = ["--datasets", str(data), "--models", "SASRec", "--seeds", "2020", "--out", str(out), "--no-progress"]
    for setting in [*SETTINGS, *settings]:
        argv += ["--set", setting]
    if config_files:
        argv += ["--config_files", *config_files]
    return command.cli(argv, run_fn=runner.run)


def count_epochs(monkeypatch, fail_after=None):
    """Count trained epochs; with ``fail_after`` N, the run dies once epoch N has ended (its -last
    checkpoint written), as a run does when its machine goes away."""
    trained, train_epoch, end_epoch = [], DisenTrainer._train_epoch, DisenTrainer._end_epoch

    def counting(self, train_data, epoch_idx, *args, **kwargs):
        trained.append(epoch_idx)
        return train_epoch(self, train_data, epoch_idx, *args, **kwargs)

    def ending(self, epoch_idx):
        end_epoch(self, epoch_idx)
        if epoch_idx == fail_after:
            raise RuntimeError("power cut")

    monkeypatch.setattr(DisenTrainer, "_train_epoch", counting)
    monkeypatch.setattr(DisenTrainer, "_end_epoch", ending)
    return trained


def interrupted(data, out, monkeypatch, after=1):
    with monkeypatch.context() as patch:
        trained = count_epochs(patch, fail_after=after)
        assert bench(data, out) == 1  # the run failed: no JSON
    assert trained == list(range(after + 1)) and not (out / "runs" / f"{RUN}.json").exists()


def messages(caplog):
    return [record.getMessage() for record in caplog.records]


def test_an_interrupted_run_continues_where_it_stopped(tmp_path, tiny_data, monkeypatch, caplog):
    data = tiny_data[0] / "tiny"
    assert bench(data, tmp_path / "straight") == 0
    straight = json.loads((tmp_path / "straight" / "runs" / f"{RUN}.json").read_text())

    out = tmp_path / "out"
    interrupted(data, out, monkeypatch)
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(data, out) == 0
    assert trained == [2]  # only the epoch that was missing
    assert any("continues from" in message for message in messages(caplog))
    resumed = json.loads((out / "runs" / f"{RUN}.json").read_text())
    assert resumed["epochs_run"] == 3
    assert [e["valid_score"] for e in resumed["history"]] == [e["valid_score"] for e in straight["history"]]
    assert resumed["test_result"] == straight["test_result"]  # exact: weights, optimiser and data order

    # a finished run whose JSON is gone: nothing to train, its best checkpoint is tested again
    (out / "runs" / f"{RUN}.json").unlink()
    trained.clear()
    assert bench(data, out) == 0
    assert trained == [] and json.loads((out / "runs" / f"{RUN}.json").read_text())["test_result"] == straight["test_result"]


def test_a_bench_folder_moved_with_its_converted_data_continues_the_interrupted_run(tmp_path, monkeypatch, caplog):
    """A user-lines file is converted into <out>/data/: moved with the folder, it is the same data."""
    source = tmp_path / "tiny.txt"
    source.write_text("".join(f"{user} {' '.join(items)}\n" for user, items in tiny_sequences().items()))
    interrupted(source, tmp_path / "out", monkeypatch)
    shutil.move(tmp_path / "out", tmp_path / "moved")
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(source, tmp_path / "moved") == 0
    assert trained == [2]  # only the epoch that was missing
    assert any(message.startswith(f"run {RUN} continues from {tmp_path / 'moved'}") for message in messages(caplog))
    assert json.loads((tmp_path / "moved" / "runs" / f"{RUN}.json").read_text())["epochs_run"] == 3


def test_a_run_of_other_settings_starts_again_and_keeps_the_earlier_files(tmp_path, tiny_data, monkeypatch, caplog):
    data, out = tiny_data[0] / "tiny", tmp_path / "out"
    interrupted(data, out, monkeypatch, after=0)
    checkpoints = out / "checkpoints" / RUN
    earlier = sorted(path.name for path in checkpoints.iterdir() if path.is_file() and path.name != ".lock")
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        # a training setting that the checkpoint's own check does not cover: the spec does
        assert bench(data, out, "learning_rate=0.01") == 0
    assert trained == [0, 1, 2]
    assert any("moved into" in message for message in messages(caplog))
    assert sorted(path.name for path in (checkpoints / "earlier-1").iterdir()) == earlier  # none deleted
    assert json.loads((out / "runs" / f"{RUN}.json").read_text())["config"]["learning_rate"] == 0.01


def test_a_checkpoint_of_other_data_is_not_continued(tmp_path, tiny_data, monkeypatch, caplog):
    data, out = tiny_data[0] / "tiny", tmp_path / "out"
    interrupted(data, out, monkeypatch)
    with open(data / "tiny.inter", "a") as inter:  # same settings, one more interaction: the spec differs
        inter.write("u1\ti3\t99\n")
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(data, out) == 0
    assert trained == [0, 1, 2]
    assert any("moved into" in m for m in messages(caplog))


def test_the_checkpoints_own_data_check_refuses_what_the_spec_cannot_see(tmp_path, tiny_data, monkeypatch, caplog):
    # a dataset named for RecBole to fetch has no file to hash: the checkpoint's fingerprint decides
    monkeypatch.setattr("recbole_disen.bench.plan.data_digest", lambda dataset: None)
    data, out = tiny_data[0] / "tiny", tmp_path / "out"
    interrupted(data, out, monkeypatch)
    with open(data / "tiny.inter", "a") as inter:
        inter.write("u1\ti3\t99\n")
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(data, out) == 0
    assert trained == [0, 1, 2]
    assert any("cannot continue" in m and "trained on other data" in m for m in messages(caplog))


def test_a_finished_run_runs_again_when_its_data_changed(tmp_path, tiny_data, monkeypatch):
    data, out = tiny_data[0] / "tiny", tmp_path / "out"
    assert bench(data, out) == 0
    first = json.loads((out / "runs" / f"{RUN}.json").read_text())
    trained = count_epochs(monkeypatch)
    assert bench(data, out) == 0 and trained == []  # same data: reused
    with open(data / "tiny.inter", "a") as inter:
        inter.write("u1\ti3\t99\n")
    assert bench(data, out) == 0 and trained == [0, 1, 2]
    again = json.loads((out / "runs" / f"{RUN}.json").read_text())
    assert again["spec"]["inputs"]["data_sha256"] != first["spec"]["inputs"]["data_sha256"]
    assert again["spec"]["inputs"]["data_sha256"] == files.sha256_of(data / "tiny.inter")


def test_a_config_file_edited_in_place_starts_the_run_again(tmp_path, tiny_data, monkeypatch, caplog):
    data, out = tiny_data[0] / "tiny", tmp_path / "out"
    settings = tmp_path / "settings.yaml"
    settings.write_text("learning_rate: 0.001\n")
    with monkeypatch.context() as patch:
        count_epochs(patch, fail_after=1)
        assert bench(data, out, config_files=[str(settings)]) == 1
    settings.write_text("learning_rate: 0.01\n")  # the same path, other contents
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(data, out, config_files=[str(settings)]) == 0
    assert trained == [0, 1, 2]
    assert json.loads((out / "runs" / f"{RUN}.json").read_text())["config"]["learning_rate"] == 0.01


def test_the_folder_lock_keeps_a_second_process_off(tmp_path):
    with folder.claimed(tmp_path / "run"):
        with pytest.raises(UserError, match="in use by another bench process"):
            with folder.claimed(tmp_path / "run"):
                pass
    with folder.claimed(tmp_path / "run"):  # released when the holder ended
        pass


def test_the_newest_last_checkpoint_is_the_one_to_continue(tmp_path):
    assert files.last_checkpoint_in(tmp_path / "missing") is None
    assert files.last_checkpoint_in(tmp_path) is None
    old, new = tmp_path / "A-last.pth", tmp_path / "B-last.pth"
    for path in (old, new, tmp_path / "B.pth"):
        path.write_bytes(b"x")
    os.utime(old, ns=(2_000_000_000, 2_000_000_000))
    os.utime(new, ns=(1_000_000_000, 1_000_000_000))
    assert files.last_checkpoint_in(tmp_path) == str(old)


def test_a_run_stopped_before_its_first_epoch_ended_sets_nothing_aside(tmp_path):
    spec = {"model": "SASRec", "seed": 2020, "inputs": {"data_sha256": "ab", "defaults": {}}}
    folder.start_afresh(tmp_path, spec)
    folder.start_afresh(tmp_path, spec)  # spec.json alone, the same spec: nothing to set aside
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spec.json"]
    folder.start_afresh(tmp_path, {**spec, "seed": 2021})
    assert sorted(path.name for path in tmp_path.iterdir()) == ["earlier-1", "spec.json"]
    assert json.loads((tmp_path / "earlier-1" / "spec.json").read_text()) == spec


def test_a_bench_stopped_by_sigterm_says_that_the_same_command_continues(monkeypatch, capsys):
    def killed(argv):  # a plain `kill` of the bench while it runs
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None), "SIGTERM would end the test process"
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted at once by the handler

    monkeypatch.setattr(command, "cli", killed)
    assert command.main(["--datasets", "toy"]) == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        "interrupted: run the same command again to continue (finished runs are kept, and an interrupted one "
        "continues from its last epoch)")
