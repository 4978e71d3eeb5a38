"""Tests for benchmarks/s2s_negatives.py: its count of same-user rows by hand."""

import torch
from conftest import load_benchmark


def test_same_user_rows_count_only_rows_that_have_a_future():
    users = torch.tensor([3, 5, 3, 7, 3, 5])
    valid = torch.tensor([True, True, True, True, False, True])
    # user 3: rows 0, 2 (row 4 has no future, so it is no negative and gets 0); user 5: rows 1, 5; user 7: row 3
    assert load_benchmark("s2s_negatives").same_user_rows(users, valid).tolist() == [1, 1, 1, 0, 0, 1]
