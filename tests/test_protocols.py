"""The two ranking protocols on hand-written data: exact removed items and metric values by hand."""

import math

import numpy as np
import pytest
import torch

from recbole_disen import metrics, protocols
from recbole_disen.errors import UserError
from recbole_disen.runner import build, build_config, run
from recbole_disen.trainer import DisenTrainer
from conftest import TINY, write_inter

# Item iN scores -N for every user, so the ranking of all items is i1, i2, ..., i13.
SEQUENCES = {
    "a": ["i1", "i2", "i3", "i4", "i5", "i6"],  # longer than MAX_ITEM_LIST_LENGTH 3: a sliding window
    "b": ["i7", "i8", "i9", "i7"],  # the test target i7 is an item b had before
    "c": ["i3", "i1", "i2", "i5"],
    "d": ["i10", "i11", "i12", "i13"],
}
# Items before each target: validation target = second to last item, test target = last item.
SEEN_VALID = {"a": {"i1", "i2", "i3", "i4"}, "b": {"i7", "i8"}, "c": {"i3", "i1"}, "d": {"i10", "i11"}}
SEEN_TEST = {"a": {"i1", "i2", "i3", "i4", "i5"}, "b": {"i7", "i8", "i9"}, "c": {"i3", "i1", "i2"},
             "d": {"i10", "i11", "i12"}}


def ndcg(rank):
    return 1 / math.log2(rank + 1) if rank <= 10 else 0.0


# Rank of each target (1 = first) under RecBole's protocol and with seen items removed (None: removed).
TEST_RANKS = {"a": (6, 1), "b": (7, None), "c": (5, 2), "d": (13, 10)}
VALID_RANKS = {"a": (5, 1), "b": (9, 7), "c": (2, 1), "d": (12, 10)}


def fixed_scores(folder, sequences, max_len):
    """(config, dataset, train, valid, test, trainer) on ``sequences`` written under ``folder``, a SASRec
    whose scores are fixed: item iN scores -N for every user."""
    write_inter(folder / "data", "hand", sequences)
    settings = {**TINY, "MAX_ITEM_LIST_LENGTH": max_len, "data_path": str(folder / "data"),
                "checkpoint_dir": str(folder / "saved")}
    config = build_config("SASRec", "hand", config_dict=settings)
    dataset, train, valid, test, model = build(config)
    tokens = dataset.field2id_token["item_id"]
    fixed = torch.tensor([-math.inf] + [-float(token[1:]) for token in tokens[1:]])  # [n_items]
    model.full_sort_predict = lambda interaction: fixed.expand(len(interaction), -1).clone()
    return config, dataset, train, valid, test, DisenTrainer(config, model)


@pytest.fixture
def splits(tmp_path, monkeypatch):
    """fixed_scores on SEQUENCES, with MAX_ITEM_LIST_LENGTH 3."""
    monkeypatch.chdir(tmp_path)
    return fixed_scores(tmp_path, SEQUENCES, 3)


def masks_by_user(seen, data, dataset):
    out = {}
    for interaction, _, _, _ in data:
        mask = seen.batch_mask(interaction)
        for user, row in zip(interaction["user_id"].tolist(), mask):
            out[dataset.id2token("user_id", user)] = set(dataset.id2token("item_id", row.nonzero().view(-1).numpy()))
    return out


def test_removed_items_are_exactly_those_before_each_target(splits):
    config, dataset, train, valid, test, _ = splits
    seen = protocols.SeenItems(train, config["device"])
    assert masks_by_user(seen, valid, dataset) == SEEN_VALID
    assert masks_by_user(seen, test, dataset) == SEEN_TEST


def by_user(trainer, dataset):
    users, ndcg_values = trainer.user_ndcg()
    return {dataset.id2token("user_id", u): float(v) for u, v in zip(users, ndcg_values)}


@pytest.mark.parametrize("exclude_seen, column", [(False, 0), (True, 1)])
def test_test_ranking_under_each_protocol_by_hand(splits, exclude_seen, column):
    config, dataset, train, valid, test, trainer = splits
    seen = protocols.SeenItems(train, config["device"])
    result = trainer.evaluate(test, load_best_model=False, seen=seen, exclude_seen=exclude_seen)
    expected = {user: ndcg(ranks[column]) if ranks[column] else 0.0 for user, ranks in TEST_RANKS.items()}
    assert by_user(trainer, dataset) == pytest.approx(expected, abs=1e-6)
    assert result["ndcg@10"] == pytest.approx(sum(expected.values()) / 4, abs=1e-4)
    assert result["recall@10"] == 0.75  # RecBole's: d's target is 13th; removed: b's target is gone
    # Under RecBole's protocol every top 10 is i1..i10: a had 5 of them, b 3, c 3, d 1 (i10).
    assert trainer.ranking.seen_share() == (None if exclude_seen else pytest.approx(12 / 40))
    assert trainer.ranking.targets_seen() == 1  # b's i7
    top = {dataset.id2token("user_id", u): list(dataset.id2token("item_id", row))
           for u, row in zip(trainer.user_ndcg()[0], trainer.ranking.items())}
    if not exclude_seen:
        assert all(items == [f"i{n}" for n in range(1, 11)] for items in top.values())
    else:
        assert top["c"][:5] == ["i4", "i5", "i6", "i7", "i8"] and top["d"] == [f"i{n}" for n in range(1, 10)] + ["i13"]


def test_validation_follows_the_setting(splits):
    config, dataset, train, valid, test, trainer = splits
    trainer.valid_seen = protocols.SeenItems(train, config["device"])
    score, result = trainer._valid_epoch(valid)
    expected = [ndcg(removed) for removed in (r[1] for r in VALID_RANKS.values())]
    assert result["ndcg@10"] == pytest.approx(np.mean(expected), abs=1e-4)
    assert score == result["mrr@10"] == pytest.approx(np.mean([1, 1 / 7, 1, 1 / 10]), abs=1e-4)
    trainer.valid_seen = None
    score, result = trainer._valid_epoch(valid)
    assert score == pytest.approx(np.mean([1 / 5, 1 / 9, 1 / 2, 0]), abs=1e-4)


def test_both_protocols_from_one_model(splits):
    config, dataset, train, valid, test, trainer = splits
    seen = protocols.SeenItems(train, config["device"])
    out = protocols.test_both(trainer, train, test, seen, load_best_model=False, show_progress=False)
    users = [dataset.id2token("user_id", u) for u in out["test_user_ids"]]
    for column, name in ((0, "recbole"), (1, "unseen")):
        expected = [ndcg(TEST_RANKS[u][column]) if TEST_RANKS[u][column] else 0.0 for u in users]
        assert out[f"test_user_ndcg@10_{name}"] == pytest.approx(expected, abs=1e-6)
    assert out["test_result"] == out["test_result_recbole"] and not out["eval_exclude_seen"]
    assert out["test_user_ndcg@10"] == out["test_user_ndcg@10_recbole"]
    assert out["test_seen_share@10"] == pytest.approx(0.3) and out["test_targets_seen"] == 1
    # RecBole's protocol recommends i1..i10 to all 4 users: 10 of 13 items, each 4 times out of 40.
    assert out["test_beyond_recbole"]["itemcoverage@10"] == pytest.approx(10 / 13, abs=1e-4)
    assert out["test_beyond_recbole"]["entropy@10"] == pytest.approx(math.log(10), abs=1e-4)
    assert set(out["test_beyond_unseen"]) == set(out["test_beyond_recbole"])


def test_the_second_protocol_needs_a_sequential_full_ranking(splits):
    config, dataset, train, valid, test, trainer = splits
    assert protocols.check(config, test)
    config["eval_exclude_seen"] = True
    with pytest.raises(UserError, match="eval_exclude_seen needs a sequential model and full ranking"):
        protocols.check(config, object())


def test_training_counts_on_hand_written_data(splits):
    config, dataset, train, valid, test, trainer = splits
    counts = metrics.train_item_counts(train)
    by_token = {dataset.id2token("item_id", i): int(n) for i, n in enumerate(counts) if i > 0}
    # training sequences: a i1-i4, b i7 i8, c i3 i1, d i10 i11 (the last two items are held out)
    assert by_token == {"i1": 2, "i2": 1, "i3": 2, "i4": 1, "i5": 0, "i6": 0, "i7": 1, "i8": 1, "i9": 0,
                        "i10": 1, "i11": 1, "i12": 0, "i13": 0}


def test_horizon_scores_follow_each_protocol(tiny_settings, tmp_path, monkeypatch):
    """With horizon 1 the horizon is the next item: each pass's horizon NDCG@10 is its next-item NDCG@10."""
    monkeypatch.chdir(tmp_path)
    result = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "horizon": 1, "eval_exclude_seen": True,
                                                "valid_metric": "horizon_ndcg@10"})
    for name in ("recbole", "unseen"):
        assert result[f"test_user_horizon_ndcg@10_{name}"] == pytest.approx(result[f"test_user_ndcg@10_{name}"], abs=1e-9)
        assert result[f"test_result_{name}"]["horizon_ndcg@10"] == result[f"test_result_{name}"]["ndcg@10"]
    assert result["test_result_unseen"]["ndcg@10"] > result["test_result_recbole"]["ndcg@10"]
    assert result["test_user_horizon_ndcg@10"] == result["test_user_horizon_ndcg@10_unseen"]


def test_a_seen_target_misses_even_when_fewer_than_k_items_are_left(tmp_path, monkeypatch):
    # "full" had every one of the 12 items before its test target i1, so with them removed nothing is left
    # to rank: its top 10 is drawn from removed items, and its target must not be among them.
    monkeypatch.chdir(tmp_path)
    sequences = {"full": [f"i{n}" for n in range(1, 13)] + ["i1"], "other": ["i1", "i2", "i3", "i4"]}
    config, dataset, train, _, test, trainer = fixed_scores(tmp_path, sequences, 20)
    result = trainer.evaluate(test, load_best_model=False, seen=protocols.SeenItems(train, config["device"]),
                              exclude_seen=True)
    # other's target i4 ranks first once i1..i3 are removed; full's target is a miss
    assert by_user(trainer, dataset) == pytest.approx({"full": 0.0, "other": 1.0})
    assert result["recall@10"] == 0.5 and result["ndcg@10"] == 0.5
    assert trainer.ranking.targets_seen() == 1
