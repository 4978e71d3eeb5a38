"""End-to-end runs with the horizon evaluation, for DisenSeqRec and RecBole's models, and its settings."""

import pytest

from recbole_disen import cli
from recbole_disen.horizon import metric_names
from recbole_disen.runner import run
from conftest import model_in, settings_of, tiny_sequences


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RecBole writes log/ and log_tensorboard/ into the working folder


HORIZON_3 = {"horizon": 3, "valid_metric": "horizon_ndcg@10"}


@pytest.mark.parametrize("model", ["DisenSeqRec", "SASRec", "GRU4Rec"])
def test_horizon_3_end_to_end(model, tiny_settings):
    result = run(model, "tiny", config_dict={**settings_of(model, tiny_settings), **HORIZON_3})
    short = sum(len(items) < 2 * 3 + 2 for items in tiny_sequences().values())
    assert result["horizon"] == 3 and result["horizon_dropped_users"] == short > 0
    users, user_ndcg = result["test_user_ids"], result["test_user_horizon_ndcg@10"]
    assert len(users) == len(user_ndcg) == 60 - short
    test, valid = result["test_result"], result["best_valid_result"]
    assert set(metric_names([10], 3)) <= set(test) & set(valid)
    assert all(0 <= test[name] <= 1 for name in metric_names([10], 3))
    assert sum(user_ndcg) / len(user_ndcg) == pytest.approx(test["horizon_ndcg@10"], abs=1e-4)
    # early stopping followed the horizon metric; position 1 is RecBole's next-item target
    assert result["best_valid_score"] == valid["horizon_ndcg@10"]
    assert [h["valid_score"] for h in result["history"]][result["best_epoch"]] == result["best_valid_score"]
    assert test["horizon_pos1_hit@10"] == test["recall@10"]


def test_horizon_1_scores_equal_recboles_next_item_scores(tiny_settings):
    # With one future item the set is that item: the horizon NDCG@10 of each user is RecBole's NDCG@10.
    result = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "horizon": 1, "valid_metric": "horizon_ndcg@10"})
    assert result["test_user_horizon_ndcg@10"] == pytest.approx(result["test_user_ndcg@10"], abs=1e-9)
    assert result["test_result"]["horizon_ndcg@10"] == result["test_result"]["ndcg@10"]
    assert 0 < result["test_result"]["ndcg@10"] < 1


@pytest.mark.parametrize("words, message", [
    ("--horizon=-1", "setting 'horizon' must be an integer >= 0 (0: off), got -1"),
    ("--horizon=3", "horizon 3 validates on the horizon: set valid_metric to one of its metrics"),
    ("--horizon=3 --valid_metric=horizon_ndcg@5", "horizon 3 validates on the horizon"),
    ("--valid_metric=horizon_ndcg@10", "valid_metric 'horizon_ndcg@10' needs the horizon evaluation"),
    ("--horizon=3 --valid_metric=horizon_ndcg@10 --eval_args={'split':{'LS':'valid_and_test'},'order':'TO','mode':'uni100'}",
     "horizon ranks all items: set eval_args mode to full"),
    ("--horizon=3 --valid_metric=horizon_ndcg@10 --eval_args={'split':{'RS':[0.8,0.1,0.1]},'order':'TO','mode':'full'}",
     "horizon holds out its own validation and test horizons"),
    ("--horizon=3 --valid_metric=horizon_ndcg@10 --model=BPR", "horizon needs a sequential model"),
    ("--horizon=3 --valid_metric=horizon_ndcg@10 --eval_args={'split':{'LS':'valid_and_test'},'order':'RO','mode':'full'}",
     "horizon orders each user's items by time: set eval_args order to TO"),
])
def test_bad_horizon_settings_are_one_line(words, message, tiny_settings, capsys):
    args = [f"--{k}={v}" for k, v in settings_of(model_in(words.split()), tiny_settings).items()]
    code = cli.main(["--dataset=tiny", *args, *words.split()])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err
