"""The bench continues an interrupted run from its last-epoch checkpoint (real runner, tiny data)."""

import json
import logging

from recbole_disen import runner
from recbole_disen.bench import command
from recbole_disen.trainer import DisenTrainer

SETTINGS = ["epochs=3", "hidden_size=16", "inner_size=32", "n_layers=1", "MAX_ITEM_LIST_LENGTH=10",
            "train_batch_size=64", "eval_batch_size=64", "gpu_id=''"]


def bench(folder, out, *extra):
    argv = ["--datasets", str(folder), "--models", "SASRec", "--seeds", "2020", "--out", str(out), "--no-progress"]
    for setting in [*SETTINGS, *extra]:
        argv += ["--set", setting]
    return command.cli(argv, run_fn=runner.run)


def count_epochs(monkeypatch, fail_after=None):
    """Count trained epochs; with ``fail_after`` N, the run dies once epoch N has ended (its -last
    checkpoint written), as a run does when its machine goes away."""
    trained, end_epoch = [], DisenTrainer._end_epoch

    def train_epoch(self, *args, **kwargs):
        trained.append(args[1] if len(args) > 1 else kwargs["epoch_idx"])
        return original_train(self, *args, **kwargs)

    def ending(self, epoch_idx):
        end_epoch(self, epoch_idx)
        if epoch_idx == fail_after:
            raise RuntimeError("power cut")

    original_train = DisenTrainer._train_epoch
    monkeypatch.setattr(DisenTrainer, "_train_epoch", train_epoch)
    monkeypatch.setattr(DisenTrainer, "_end_epoch", ending)
    return trained


def test_an_interrupted_run_continues_where_it_stopped(tmp_path, tiny_data, monkeypatch, caplog):
    folder = tiny_data[0] / "tiny"
    assert bench(folder, tmp_path / "straight") == 0
    straight = json.loads((tmp_path / "straight" / "runs" / "tiny__SASRec__seed2020.json").read_text())

    out = tmp_path / "out"
    with monkeypatch.context() as patch:
        trained = count_epochs(patch, fail_after=1)
        assert bench(folder, out) == 1  # the run failed: no JSON
    assert trained == [0, 1] and not (out / "runs" / "tiny__SASRec__seed2020.json").exists()

    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(folder, out) == 0
    assert trained == [2]  # only the epoch that was missing
    assert any("continues from" in record.getMessage() for record in caplog.records)
    resumed = json.loads((out / "runs" / "tiny__SASRec__seed2020.json").read_text())
    assert resumed["epochs_run"] == 3
    assert [e["valid_score"] for e in resumed["history"]] == [e["valid_score"] for e in straight["history"]]
    assert resumed["test_result"] == straight["test_result"]  # exact: weights, optimiser and data order


def test_a_checkpoint_of_other_settings_is_not_continued(tmp_path, tiny_data, monkeypatch, caplog):
    folder, out = tiny_data[0] / "tiny", tmp_path / "out"
    with monkeypatch.context() as patch:
        count_epochs(patch, fail_after=0)
        assert bench(folder, out) == 1
    trained = count_epochs(monkeypatch)
    with caplog.at_level(logging.INFO):
        assert bench(folder, out, "hidden_size=8") == 0  # same run key, other weights' shapes
    assert trained == [0, 1, 2]
    warning = next(r.getMessage() for r in caplog.records if "starts again from the first epoch" in r.getMessage())
    assert "hidden_size is 16 there and 8 here" in warning
    assert json.loads((out / "runs" / "tiny__SASRec__seed2020.json").read_text())["config"]["hidden_size"] == 8
