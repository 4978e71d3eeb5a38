"""The horizon split: exact rows on hand-written data, futures without a horizon item, short users."""

import numpy as np
import pytest

from recbole_disen.future import FUTURE_POSITION_FIELD
from recbole_disen.horizon import HORIZON_FIELD
from recbole_disen.runner import build, build_config
from conftest import TINY, settings_of, tiny_sequences, write_inter

# horizon 2: training items a*, b*, d*; validation horizon v*, test horizon t*; uc is too short (5 < 2*2 + 2).
# ud's last test item is d1 again: a horizon may repeat a history item.
SEQUENCES = {
    "ua": ["a1", "a2", "a3", "va1", "va2", "ta1", "ta2"],
    "ub": ["b1", "b2", "vb1", "vb2", "tb1", "tb2"],
    "uc": ["c1", "c2", "c3", "c4", "c5"],
    "ud": ["d1", "a1", "d2", "d3", "vd1", "vd2", "td1", "d1"],
}


def write_shuffled(folder, name, sequences):
    """Like write_inter, but the lines in reverse order: the split must order each user by time itself."""
    path = write_inter(folder, name, sequences)
    header, *lines = path.read_text().splitlines()
    path.write_text("\n".join([header, *reversed(lines)]) + "\n")


def build_hand(tmp_path, model="DisenSeqRec", **settings):
    write_shuffled(tmp_path, "hand", SEQUENCES)
    disen = {"future_max_len": 10, "s2s_weight": 1.0} if model == "DisenSeqRec" else {}
    settings = {**settings_of(model, TINY), "data_path": str(tmp_path), "MAX_ITEM_LIST_LENGTH": 3, "horizon": 2,
                "valid_metric": "horizon_ndcg@10", **disen, "checkpoint_dir": str(tmp_path / "saved"), **settings}
    return build(build_config(model, "hand", config_dict=settings))


def rows(dataset, split):
    """{(user, history, target, horizon)} in raw tokens; horizon is () for training rows."""
    feat = split.dataset.inter_feat
    item = lambda i: dataset.id2token("item_id", int(i))
    out = set()
    for r in range(len(feat)):
        length = int(feat["item_length"][r])
        horizon = tuple(item(i) for i in feat[HORIZON_FIELD][r]) if HORIZON_FIELD in feat else ()
        out.add((dataset.id2token("user_id", int(feat["user_id"][r])),
                 tuple(item(i) for i in feat["item_id_list"][r, :length]), item(feat["item_id"][r]), horizon))
    return out


def test_rows_of_each_split_by_hand(tmp_path):
    dataset, train, valid, test, _ = build_hand(tmp_path)
    assert rows(dataset, train) == {
        ("ua", ("a1",), "a2", ()), ("ua", ("a1", "a2"), "a3", ()),
        ("ub", ("b1",), "b2", ()),
        ("ud", ("d1",), "a1", ()), ("ud", ("d1", "a1"), "d2", ()), ("ud", ("d1", "a1", "d2"), "d3", ()),
    }
    assert rows(dataset, valid) == {
        ("ua", ("a1", "a2", "a3"), "va1", ("va1", "va2")),
        ("ub", ("b1", "b2"), "vb1", ("vb1", "vb2")),
        ("ud", ("a1", "d2", "d3"), "vd1", ("vd1", "vd2")),  # truncated to MAX_ITEM_LIST_LENGTH 3
    }
    assert rows(dataset, test) == {
        ("ua", ("a3", "va1", "va2"), "ta1", ("ta1", "ta2")),
        ("ub", ("b2", "vb1", "vb2"), "tb1", ("tb1", "tb2")),
        ("ud", ("d3", "vd1", "vd2"), "td1", ("td1", "d1")),
    }


def all_futures(dataset, train, model):
    """{(user, target): future items in encoder order (reversed)} in raw tokens, for every training row."""
    feat = train.dataset.inter_feat
    future, length = model.future(feat["user_id"], feat[FUTURE_POSITION_FIELD])
    token = lambda field, i: dataset.id2token(field, int(i))
    return {
        (token("user_id", feat["user_id"][r]), token("item_id", feat["item_id"][r])):
            [token("item_id", i) for i in future[r, : length[r]]]
        for r in range(len(feat))
    }


def test_futures_are_exact_and_hold_no_horizon_item(tmp_path):
    dataset, train, _, _, model = build_hand(tmp_path)
    assert all_futures(dataset, train, model) == {
        ("ua", "a2"): ["a3", "a2"], ("ua", "a3"): ["a3"],
        ("ub", "b2"): ["b2"],
        ("ud", "a1"): ["d3", "d2", "a1"], ("ud", "d2"): ["d3", "d2"], ("ud", "d3"): ["d3"],
    }
    horizon_only = {dataset.token2id("item_id", t) for s in SEQUENCES.values() for t in s if t[0] in "vt"}
    assert set(model.future.items.tolist()).isdisjoint(horizon_only)


def test_short_users_are_dropped_with_a_count(tmp_path, caplog):
    dataset, train, valid, test, _ = build_hand(tmp_path)
    assert train.dataset.horizon_dropped_users == 1
    assert "dropped 1 users with fewer than 6 interactions (5 interactions): horizon 2" in caplog.text
    uc = dataset.token2id("user_id", "uc")
    assert all(uc not in split.dataset.inter_feat["user_id"].tolist() for split in (train, valid, test))


def test_horizon_1_is_recboles_leave_one_out(tmp_path):
    write_inter(tmp_path, "tiny", tiny_sequences())
    settings = {**TINY, "data_path": str(tmp_path), "checkpoint_dir": str(tmp_path / "saved")}
    plain = build(build_config("SASRec", "tiny", config_dict=settings))
    horizon = build(build_config("SASRec", "tiny", config_dict={**settings, "horizon": 1, "valid_metric": "horizon_ndcg@10"}))
    for a, b in zip(plain[1:4], horizon[1:4]):
        fa, fb = a.dataset.inter_feat, b.dataset.inter_feat
        key = lambda f: np.lexsort((f["item_id"].numpy(), f["user_id"].numpy()))  # leave-one-out reorders by time
        for field in ("user_id", "item_id", "item_id_list", "item_length"):
            assert fa[field][key(fa)].tolist() == fb[field][key(fb)].tolist()
    assert horizon[3].dataset.inter_feat[HORIZON_FIELD][:, 0].tolist() == horizon[3].dataset.inter_feat["item_id"].tolist()


@pytest.mark.parametrize("model", ["SASRec", "GRU4Rec"])
def test_baselines_get_the_same_split(tmp_path, model):
    expected = build_hand(tmp_path / "disen")
    got = build_hand(tmp_path / model, model=model)
    for a, b in zip(expected[1:4], got[1:4]):
        assert rows(expected[0], a) == rows(got[0], b)


def test_exact_duplicates_are_dropped_before_the_horizon_split(tmp_path):
    dataset, _, valid, test, _ = build_hand(tmp_path)
    expected = rows(dataset, valid), rows(dataset, test)
    path = tmp_path / "hand" / "hand.inter"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, next(line for line in lines if line.startswith("ua\tta2\t"))]) + "\n")
    # Kept, ua's repeated last interaction would make (ta2, ta2) its test horizon and (va2, ta1) its validation one.
    dataset, _, valid, test, _ = build(build_config("DisenSeqRec", "hand", config_dict={
        **TINY, "data_path": str(tmp_path), "MAX_ITEM_LIST_LENGTH": 3, "horizon": 2,
        "valid_metric": "horizon_ndcg@10", "checkpoint_dir": str(tmp_path / "saved2")}))
    assert (rows(dataset, valid), rows(dataset, test)) == expected
