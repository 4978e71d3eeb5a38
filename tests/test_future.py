"""Each training row's future: exact on hand-written data, and never a validation or test item."""

import numpy as np
import pytest
import torch

from recbole_disen.errors import UserError
from recbole_disen.future import FUTURE_POSITION_FIELD, FutureIndex, build_index, row_positions, tag_training_rows
from recbole_disen.model import DisenSeqRec
from recbole_disen.runner import build, build_config
from conftest import TINY, write_inter

# Training items a*, b*, c*; validation items v*, test items t*, each used exactly once.
SEQUENCES = {
    "ua": ["a1", "a2", "a3", "a4", "va", "ta"],
    "ub": ["b1", "b2", "b3", "b4", "b5", "b6", "vb", "tb"],
    "uc": ["c1", "a1", "c2", "vc", "tc"],
}


def test_row_positions_and_index_by_hand():
    users = np.array([2, 1, 2, 1, 2])
    assert row_positions(users).tolist() == [1, 1, 2, 2, 3]
    items, start, end, slot = build_index(users, np.array([20, 10, 0, 0, 0]), np.array([21, 11, 22, 12, 23]), 3)
    assert items.tolist() == [10, 11, 12, 20, 21, 22, 23]  # user 1: x0=10, then 11, 12; user 2: 20, 21, 22, 23
    assert start.tolist()[1:] == [0, 3] and end.tolist()[1:] == [2, 6] and slot.tolist() == [4, 1, 5, 2, 6]


@pytest.fixture
def built(tmp_path):
    write_inter(tmp_path, "hand", SEQUENCES)
    settings = {**TINY, "data_path": str(tmp_path), "MAX_ITEM_LIST_LENGTH": 2, "future_max_len": 10,
                "s2s_weight": 1.0, "checkpoint_dir": str(tmp_path / "saved")}
    config = build_config("DisenSeqRec", "hand", config_dict=settings)
    dataset, train, valid, test, model = build(config)
    return dataset, train, model


def all_futures(dataset, train, model):
    """{(user, target): [future items, encoder order]} in raw tokens, for every training row."""
    feat = train.dataset.inter_feat
    future, length = model.future(feat["user_id"], feat[FUTURE_POSITION_FIELD])
    token = lambda field, i: dataset.id2token(field, int(i))
    out = {}
    for row in range(len(feat)):
        key = (token("user_id", feat["user_id"][row]), token("item_id", feat["item_id"][row]))
        out[key] = [token("item_id", i) for i in future[row, : length[row]]]
        assert (future[row, length[row]:] == 0).all()
    return out


def test_futures_are_exact_and_reversed(built):
    futures = all_futures(*built)
    assert futures == {
        ("ua", "a2"): ["a4", "a3", "a2"], ("ua", "a3"): ["a4", "a3"], ("ua", "a4"): ["a4"],
        ("ub", "b2"): ["b6", "b5", "b4", "b3", "b2"], ("ub", "b3"): ["b6", "b5", "b4", "b3"],
        ("ub", "b4"): ["b6", "b5", "b4"], ("ub", "b5"): ["b6", "b5"], ("ub", "b6"): ["b6"],
        ("uc", "a1"): ["c2", "a1"], ("uc", "c2"): ["c2"],
    }


def test_no_validation_or_test_item_in_any_future(built):
    dataset, train, model = built
    held_out = {dataset.token2id("item_id", t) for s in SEQUENCES.values() for t in s[-2:]}
    assert set(model.future.items.tolist()).isdisjoint(held_out)
    feat = train.dataset.inter_feat
    future, _ = model.future(feat["user_id"], feat[FUTURE_POSITION_FIELD])
    assert set(future.flatten().tolist()).isdisjoint(held_out)


def test_rows_longer_than_max_length_still_get_their_own_future(built):
    # ub's rows with targets b3..b6 all have item_length 2 (MAX_ITEM_LIST_LENGTH), yet distinct futures
    futures = all_futures(*built)
    assert len({tuple(futures[("ub", t)]) for t in ["b3", "b4", "b5", "b6"]}) == 4


def test_future_max_len_keeps_the_nearest_items(tmp_path):
    write_inter(tmp_path, "hand", SEQUENCES)
    settings = {**TINY, "data_path": str(tmp_path), "future_max_len": 2, "checkpoint_dir": str(tmp_path / "s")}
    dataset, train, _, _, model = build(build_config("DisenSeqRec", "hand", config_dict=settings))
    assert all_futures(dataset, train, model)[("ub", "b2")] == ["b3", "b2"]


def rows_of(train, user):
    """Indices [n] of a user's training rows, in stored order."""
    users = train.dataset.inter_feat["user_id"]
    return torch.nonzero(users == train.dataset.token2id("user_id", user)).flatten()


def test_rows_out_of_time_order_break_the_contract(built):
    _, train, _ = built
    feat = train.dataset.inter_feat
    order = torch.arange(len(feat))
    ub = rows_of(train, "ub")
    order[ub] = ub.flip(0)  # ub's rows, last first: none of the five continues the row before it
    train.dataset.inter_feat = feat[order]
    with pytest.raises(UserError, match=r"5 of 10 training rows do not .* user 'ub'\): use eval_args order TO"):
        tag_training_rows(train.dataset)


def test_a_split_without_the_users_first_row_breaks_the_contract(built):
    _, train, _ = built
    keep = torch.ones(len(train.dataset.inter_feat), dtype=torch.bool)
    keep[rows_of(train, "ua")[0]] = False  # ua's first row (a1 -> a2): its next row's history is a1, a2
    train.dataset.inter_feat = train.dataset.inter_feat[keep]
    with pytest.raises(UserError, match=r"1 of 9 training rows do not .* user 'ua'"):
        FutureIndex.from_dataset(train.dataset, 5)


def test_the_model_refuses_data_the_runner_did_not_tag(tmp_path):
    write_inter(tmp_path, "hand", SEQUENCES)
    settings = {**TINY, "data_path": str(tmp_path), "checkpoint_dir": str(tmp_path / "s")}
    config = build_config("DisenSeqRec", "hand", config_dict=settings)
    dataset, train, _, _, _ = build(config)
    # The full dataset (validation and test rows included) is self-consistent, but its futures would leak.
    with pytest.raises(UserError, match="must be built on the training split"):
        DisenSeqRec(config, dataset)
    train.dataset.inter_feat[FUTURE_POSITION_FIELD] += 1  # tags from other data
    with pytest.raises(UserError, match="must be built on the training split"):
        DisenSeqRec(config, train.dataset)
