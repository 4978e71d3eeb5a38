"""The loss functions against values computed by hand."""

import math

import pytest
import torch

from recbole_disen import losses


def test_infonce_one_intention_by_hand():
    earlier = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])  # [B=2, K=1, H=2]
    future = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    got = losses.seq2seq_infonce(earlier, future, torch.tensor([True, True]), temperature=1.0)
    # row 0: logits [1, 1], positive 1 -> log(2e) - 1 = log 2; row 1: logits [0, 1] -> log(1 + e) - 1
    assert got.shape == (2, 1)
    assert got[0, 0].item() == pytest.approx(math.log(2), abs=1e-6)
    assert got[1, 0].item() == pytest.approx(math.log(1 + math.e) - 1, abs=1e-6)


def test_infonce_other_intentions_of_the_same_row_are_negatives():
    earlier = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # [B=1, K=2, H=2]
    future = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    got = losses.seq2seq_infonce(earlier, future, torch.tensor([True]), temperature=2.0)
    # k=0: logits [1, 0], positive 1 -> log(e + 1) - 1; k=1: logits [0, 0], positive 0 -> log 2
    assert got[0, 0].item() == pytest.approx(math.log(math.e + 1) - 1, abs=1e-6)
    assert got[0, 1].item() == pytest.approx(math.log(2), abs=1e-6)


def test_infonce_without_same_user_negatives_by_hand():
    # Rows 0 and 1 belong to user 7, row 2 to user 9; K = 1, temperature 1.
    earlier = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]])  # [B=3, K=1, H=2]
    future = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 1.0]]])
    valid = torch.tensor([True, True, True])
    got = losses.seq2seq_infonce(earlier, future, valid, 1.0, groups=torch.tensor([7, 7, 9]))
    # row 0: candidates its own (logit 1) and row 2's (0) -> log(e + 1) - 1
    # row 1: candidates its own (1) and row 2's (1) -> log(2e) - 1 = log 2
    # row 2: every row is another user's: logits [1, 2, 1], positive 1 -> log(2e + e^2) - 1
    assert got[:, 0].tolist() == pytest.approx(
        [math.log(math.e + 1) - 1, math.log(2), math.log(2 * math.e + math.e**2) - 1], abs=1e-6
    )
    with_them = losses.seq2seq_infonce(earlier, future, valid, 1.0)
    assert with_them[0, 0].item() == pytest.approx(math.log(math.e + math.e + 1) - 1, abs=1e-6)


def test_infonce_same_user_exclusion_keeps_the_rows_own_intentions():
    earlier = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # [B=1, K=2, H=2]
    future = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    plain = losses.seq2seq_infonce(earlier, future, torch.tensor([True]), 2.0)
    grouped = losses.seq2seq_infonce(earlier, future, torch.tensor([True]), 2.0, groups=torch.tensor([3]))
    assert torch.allclose(plain, grouped)
    anchors = torch.tensor([[True, False]])
    assert torch.allclose(
        losses.seq2seq_infonce(earlier, future, torch.tensor([True]), 2.0, anchors, torch.tensor([3])),
        torch.where(anchors, plain, 0.0),
    )


def test_infonce_rows_without_future_are_neither_anchor_nor_negative():
    earlier = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    future = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    got = losses.seq2seq_infonce(earlier, future, torch.tensor([True, False]), temperature=1.0)
    assert got.tolist() == [[0.0], [0.0]]  # row 0's only candidate is its own positive: loss log(e) - 1 = 0


def test_infonce_with_anchors_computes_only_those_pairs():
    torch.manual_seed(0)
    earlier = torch.randn(3, 2, 4, requires_grad=True)
    future = torch.randn(3, 2, 4)
    valid = torch.tensor([True, True, False])
    anchors = torch.tensor([[True, False], [False, True], [True, True]])  # row 2 has no future
    full = losses.seq2seq_infonce(earlier, future, valid, 0.5)
    some = losses.seq2seq_infonce(earlier, future, valid, 0.5, anchors)
    expected = torch.where(anchors & valid.unsqueeze(1), full, 0.0)
    assert torch.allclose(some, expected) and some[0, 0] > 0 and some[1, 1] > 0
    some.sum().backward()
    assert earlier.grad[0, 1].abs().sum() == 0 and earlier.grad[0, 0].abs().sum() > 0
    none = losses.seq2seq_infonce(earlier, future, valid, 0.5, torch.zeros(3, 2, dtype=torch.bool))
    assert none.abs().sum() == 0


def test_infonce_is_stable_for_huge_logits_and_all_empty_batches():
    earlier = torch.full((3, 2, 4), 1e4)
    got = losses.seq2seq_infonce(earlier, earlier.clone(), torch.tensor([True, True, True]), 1e-3)
    assert torch.isfinite(got).all()
    empty = losses.seq2seq_infonce(earlier, earlier, torch.zeros(3, dtype=torch.bool), 1.0)
    keep = losses.confidence_mask(empty, torch.zeros(3, dtype=torch.bool), 0.5)
    assert empty.abs().sum().item() == 0 and not keep.any()
    assert losses.masked_mean(empty, keep).item() == 0.0


def test_confidence_mask_keeps_the_smallest_fraction_among_valid_rows():
    l = torch.tensor([[1.0, 5.0], [3.0, 2.0]])
    both = torch.tensor([True, True])
    assert losses.confidence_mask(l, both, 0.5).tolist() == [[True, False], [False, True]]
    assert losses.confidence_mask(l, both, 1.0).all()
    assert losses.confidence_mask(l, both, 0.1).tolist() == [[True, False], [False, False]]  # at least one
    first_only = torch.tensor([True, False])
    assert losses.confidence_mask(l, first_only, 0.5).tolist() == [[True, False], [False, False]]


def test_confidence_mask_keeps_ties_at_the_threshold_and_has_no_gradient():
    l = torch.ones(2, 2, requires_grad=True)
    mask = losses.confidence_mask(l, torch.tensor([True, True]), 0.25)
    assert mask.all() and not mask.requires_grad


def test_mass_mask_keeps_intentions_present_on_both_sides():
    earlier = torch.tensor([[0.7, 0.3], [0.5, 0.5], [0.9, 0.1]])
    future = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.0, 0.0]])  # row 2 has no future
    valid = torch.tensor([True, True, False])
    # min over the sides: [[0.2, 0.3], [0.5, 0.4]] among valid rows; keep the top half (2 of 4)
    assert losses.mass_mask(earlier, future, valid, 0.5).tolist() == [[False, False], [True, True], [False, False]]
    # a quarter of 4 is 1: the single pair with the largest min mass
    assert losses.mass_mask(earlier, future, valid, 0.25).tolist() == [[False, False], [True, False], [False, False]]
    assert losses.mass_mask(earlier, future, valid, 1.0).tolist() == [[True, True], [True, True], [False, False]]


def test_masked_mean_by_hand():
    l = torch.tensor([[1.0, 5.0], [3.0, 2.0]])
    mask = torch.tensor([[True, False], [False, True]])
    assert losses.masked_mean(l, mask).item() == pytest.approx(1.5)


def test_aggregate_scores():
    s = torch.tensor([[1.0, 3.0, 2.0]])
    assert losses.aggregate_scores(s, "max").tolist() == [3.0]
    assert losses.aggregate_scores(s, "logsumexp").item() == pytest.approx(math.log(math.e + math.e**3 + math.e**2))


def test_symmetric_direction_by_hand():
    earlier = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    future = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
    backward = losses.seq2seq_infonce(future, earlier, torch.tensor([True, True]), temperature=1.0)
    # future 0 against earlier [1, 0], [0, 1]: logits [1, 0] -> log(e + 1) - 1; future 1: [1, 1] -> log 2
    assert backward[0, 0].item() == pytest.approx(math.log(math.e + 1) - 1, abs=1e-6)
    assert backward[1, 0].item() == pytest.approx(math.log(2), abs=1e-6)
