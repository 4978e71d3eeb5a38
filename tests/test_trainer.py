"""The trainer's hooks against RecBole 1.2.1's Trainer: the source they were mapped against (the comment
block in trainer.py) and the behaviour that mapping promises."""

import hashlib
import inspect
from pathlib import Path

import pytest
import recbole
from recbole.trainer import Trainer
from recbole.utils import early_stopping

from recbole_disen.runner import run

# sha256 (first 16 hex digits) of the source of what DisenTrainer overrides or relies on, in RecBole 1.2.1.
RECBOLE_1_2_1 = {
    "__init__": "3e1bd209b5a42298",
    "fit": "330c04de95ea2ad7",
    "_train_epoch": "2ee67cb58ea7b59a",
    "_valid_epoch": "711ddf0c46236981",
    "_save_checkpoint": "59378042d8071a25",
    "_full_sort_batch_eval": "82664fc5e5aab2da",
    "evaluate": "a24a9dde4db83037",
    "early_stopping": "1890e39e7fb85572",
}


def source_hash(function):
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_recbole_trainer_is_the_one_the_hooks_were_mapped_against():
    """If this fails, RecBole changed: re-read Trainer.fit against the map in trainer.py, then update the hashes."""
    assert recbole.__version__ == "1.2.1"
    functions = {name: getattr(Trainer, name) for name in RECBOLE_1_2_1 if name != "early_stopping"}
    found = {name: source_hash(function) for name, function in {**functions, "early_stopping": early_stopping}.items()}
    assert found == RECBOLE_1_2_1


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RecBole writes log/ and log_tensorboard/ into the working folder


def test_every_epoch_ends_once_whichever_hook_ends_it(tiny_settings):
    # eval_step 2: epochs 0 and 2 end in _train_epoch, 1 and 3 in fit's callback after validation.
    result = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 4, "eval_step": 2})
    history = result["history"]
    assert [entry["epoch"] for entry in history] == [0, 1, 2, 3]
    assert [entry["valid_score"] is None for entry in history] == [True, False, True, False]
    walls = [entry["wall_seconds"] for entry in history]
    assert all(wall is not None for wall in walls) and walls == sorted(walls)
    best = 3 if history[3]["valid_score"] > history[1]["valid_score"] else 1  # early stopping keeps the first best
    assert result["best_epoch"] == best
    assert result["best_valid_result"][result["valid_metric"]] == pytest.approx(history[best]["valid_score"])


def test_the_best_checkpoint_stores_its_own_epochs_validation_result(tiny_settings):
    from recbole_disen import checkpoint

    result = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 4, "learning_rate": 0.01})
    scores = [entry["valid_score"] for entry in result["history"]]
    best = result["best_epoch"]
    assert best > 0 and max(scores[:best]) < scores[best]  # an earlier, lower best was saved before this one
    state = checkpoint.read(result["checkpoint"])
    assert state["epoch"] == result["best_epoch"]
    assert state["best_valid_result"][result["valid_metric"]] == pytest.approx(scores[best])
    assert state["best_valid_result"][result["valid_metric"]] == pytest.approx(state["best_valid_score"])


def test_no_per_user_ndcg_at_10_is_recorded_when_the_lists_are_shorter(tiny_settings):
    short = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "topk": [5], "valid_metric": "NDCG@5"})
    assert short["test_user_ndcg@10"] == []  # not NDCG@5 under the name of NDCG@10
    full = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "topk": [5, 10]})
    ndcg = full["test_user_ndcg@10"]
    assert len(ndcg) == len(full["test_user_ids"]) > 0
    assert sum(ndcg) / len(ndcg) == pytest.approx(full["test_result"]["ndcg@10"], abs=1e-4)


def test_runs_named_in_the_same_second_do_not_overwrite_each_others_checkpoints(tiny_settings, monkeypatch):
    import recbole.trainer.trainer as recbole_trainer

    from recbole_disen import checkpoint

    monkeypatch.setattr(recbole_trainer, "get_local_time", lambda: "Dec-01-2026_12-00-00")  # one second for all
    folder = tiny_settings["checkpoint_dir"]
    first = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1})
    second = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "learning_rate": 0.01})
    assert first["checkpoint"] == f"{folder}/SASRec-Dec-01-2026_12-00-00.pth"
    assert second["checkpoint"] == f"{folder}/SASRec-Dec-01-2026_12-00-00-2.pth"
    assert second["last_checkpoint"] == f"{folder}/SASRec-Dec-01-2026_12-00-00-2-last.pth"
    # each file still holds its own run: the two learning rates' weights differ
    weights = [checkpoint.read(result["checkpoint"])["state_dict"]["item_embedding.weight"] for result in (first, second)]
    assert not (weights[0] == weights[1]).all()
    assert checkpoint.read(first["last_checkpoint"])["config"]["learning_rate"] == 0.001
    # a file someone left under the next free name's '-last' partner moves the third run on to '-4'
    theirs = Path(folder, "SASRec-Dec-01-2026_12-00-00-3-last.pth")
    theirs.write_bytes(b"mine")
    third = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1})
    assert third["checkpoint"] == f"{folder}/SASRec-Dec-01-2026_12-00-00-4.pth"
    assert theirs.read_bytes() == b"mine" and not Path(folder, "SASRec-Dec-01-2026_12-00-00-3.pth").exists()


def test_a_run_with_no_epoch_to_train_leaves_no_empty_last_checkpoint(tiny_settings):
    result = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 0})
    assert result["last_checkpoint"] is None and result["epochs_run"] == 0
    assert [path.name for path in Path(tiny_settings["checkpoint_dir"]).iterdir()] == [Path(result["checkpoint"]).name]
