"""Tests for benchmarks/seen_diagnosis.py: its counts by hand on tiny tensors."""

import torch
from conftest import load_benchmark


diagnosis = load_benchmark("seen_diagnosis")
SCORES = torch.tensor([[0.1, 0.9, 0.5, 0.7], [0.8, 0.2, 0.2, 0.6]])


def test_seen_items_in_the_top_two():
    seen = torch.tensor([[False, True, False, False], [False, False, True, True]])
    # row 0's top 2 is items 1 and 3 (item 1 seen); row 1's is items 0 and 3 (item 3 seen)
    assert diagnosis.top_seen(SCORES, seen, k=2).tolist() == [1, 1]
    assert diagnosis.top_holds(SCORES, torch.tensor([2, 0]), k=2).tolist() == [False, True]


def test_ranks_count_ties_against_the_item():
    # row 1: item 1 and item 2 both score 0.2, below 0.8 and 0.6: each is ranked 4th
    assert diagnosis.rank_of(SCORES, torch.tensor([1, 2])).tolist() == [1, 4]
    assert diagnosis.rank_of(SCORES, torch.tensor([0, 3])).tolist() == [4, 2]


def test_ndcg_of_one_target_by_hand():
    # row 0's target item 2 ranks 3rd: 1 / log2(4) = 0.5; row 1's target item 0 ranks 1st: 1
    assert diagnosis.ndcg_at_10(SCORES, torch.tensor([2, 0])).tolist() == [0.5, 1.0]
