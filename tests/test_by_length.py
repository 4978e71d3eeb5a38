"""Tests for benchmarks/by_length.py: its buckets by hand, its history lengths on hand-written data."""

import math

import numpy as np
import pytest

from conftest import TINY, load_benchmark, tiny_sequences, write_inter
from recbole_disen import runner

by_length = load_benchmark("by_length")


def test_buckets_by_hand():
    # history lengths of users 0..7 (user 0 is RecBole's padding user, user 7 has no test row); user 6,
    # of length 1, is B's only: unpaired, it counts in no mean
    length_of = [0, 1, 2, 4, 3, 10, 1, 0]
    users_a, ndcg_a = np.array([1, 2, 3, 4, 5]), np.array([0.5, 1.0, 0.2, 0.0, 0.3])
    users_b, ndcg_b = np.array([2, 1, 3, 4, 5, 6, 7]), np.array([0.5, 0.25, 0.2, 0.1, 0.6, 0.9, 0.8])
    rows = by_length.buckets(users_a, ndcg_a, users_b, ndcg_b, length_of, edges=(1, 3, 5, 11, 20))
    assert [row["lengths"] for row in rows] == [[1, 2], [3, 4], [5, 10], [11, 19]]
    assert [row["n"] for row in rows] == [2, 2, 1, 0]
    # lengths 1-2: users 1 and 2, A .5 and 1 against B .25 and .5; both differences positive, so the
    # exact two-sided Wilcoxon p is 2 x (1/2)^2
    assert rows[0] == {"lengths": [1, 2], "n": 2, "a": 0.75, "b": 0.375, "change_percent": 100.0, "wilcoxon_p": 0.5}
    # lengths 3-4: users 3 (a tie, which the Wilcoxon test drops) and 4 (A .1 lower): p = 2 x 1/2
    assert rows[1]["a"] == pytest.approx(0.1) and rows[1]["b"] == pytest.approx(0.15)
    assert rows[1]["change_percent"] == pytest.approx(-100 / 3) and rows[1]["wilcoxon_p"] == pytest.approx(1.0)
    assert rows[2]["a"] == 0.3 and rows[2]["b"] == 0.6 and rows[2]["change_percent"] == pytest.approx(-50.0)
    assert all(math.isnan(rows[3][key]) for key in ("a", "b", "change_percent", "wilcoxon_p"))


def test_history_lengths_are_the_test_rows_capped_at_the_maximum_length(tmp_path):
    sequences = tiny_sequences()  # 5 to 12 items a user; MAX_ITEM_LIST_LENGTH 10
    write_inter(tmp_path / "data", "tiny", sequences)
    settings = {**TINY, "data_path": str(tmp_path / "data")}
    record = {"spec": {"model": "SASRec", "dataset": "tiny", "config_files": [], "config_dict": settings}}
    length_of = by_length.test_history_lengths(record)
    dataset = runner.build(runner.build_config("SASRec", "tiny", config_dict=settings))[0]
    token2id = dataset.field2token_id[dataset.uid_field]
    expected = {user: min(len(items) - 1, 10) for user, items in sequences.items()}  # the test target aside
    assert {user: int(length_of[token2id[user]]) for user in sequences} == expected
    assert 12 in {len(items) for items in sequences.values()} and length_of[0] == 0  # the cap is reached


def test_runs_of_two_datasets_or_of_other_test_users_are_refused(tmp_path):
    records = [{"spec": {"dataset": name}, "model": "SASRec", "seed": 2020} for name in ("beauty", "toys")]
    with pytest.raises(SystemExit, match=r"^the runs are of several datasets \(beauty, toys\): give runs of one$"):
        by_length.compare(records[:1], records[1:])
    write_inter(tmp_path / "data", "tiny", tiny_sequences())
    spec = {"model": "SASRec", "dataset": "tiny", "config_files": [], "config_dict": {**TINY, "data_path": str(tmp_path / "data")}}
    users = list(range(1, 61))  # the 60 tiny users' internal ids
    a = {"spec": spec, "model": "SASRec", "seed": 2020, "test_user_ids": users, **{key: [0.5] * 60 for key in by_length.PROTOCOLS.values()}}
    b = {**a, "model": "DisenSeqRec", "test_user_ids": users[:-1] + [61], **{key: [0.4] * 60 for key in by_length.PROTOCOLS.values()}}
    with pytest.raises(SystemExit, match=r"^the runs' test users differ \(1 of B's are not A's\): give runs of one data split$"):
        by_length.compare([a], [b])
    assert by_length.compare([a], [{**b, "test_user_ids": users}])["recbole"][0]["change_percent"] == pytest.approx(25.0)
    # edges 1 and 11 (lengths 1-10, the tiny data's maximum length 10): one bucket holding all 60 test users
    whole = by_length.compare([a], [{**b, "test_user_ids": users}], edges=(1, 11))["unseen"]
    assert [(row["lengths"], row["n"]) for row in whole] == [([1, 10], 60)]
    assert whole[0]["a"] == 0.5 and whole[0]["b"] == pytest.approx(0.4)


@pytest.mark.parametrize("edges", [["5"], ["0", "51"], ["1", "8", "8"]])
def test_edges_that_make_no_buckets_are_refused_in_one_line(edges):
    with pytest.raises(SystemExit, match=r"^--edges .* are not bucket edges: give two or more increasing lengths"):
        by_length.main(["--a", "a.json", "--b", "b.json", "--edges", *edges])
