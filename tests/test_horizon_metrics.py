"""Horizon metrics by hand on tiny score tables."""

import math

import pytest
import torch

from recbole_disen.horizon import HORIZON_FIELD, metric_names
from recbole_disen.horizon_metrics import HorizonRecorder, first_occurrences, horizon_ranks, set_scores

INF = float("inf")
# Item 0 is the padding item (-inf, as RecBole sets it).
# Row 0 ranks 1, 3, 2, 5, 4 (items 2 and 5 tie at 0.5: the lower id first); its horizon 3, 5, 4 ranks 2, 4, 5.
# Row 1 ranks 2, 3, 1, 5, 4; its horizon 2, 2, 1 (2 twice: a set of two items) ranks 1, 1, 3.
SCORES = torch.tensor([[-INF, 0.9, 0.5, 0.7, 0.1, 0.5],
                       [-INF, 0.2, 0.8, 0.3, 0.0, 0.1]])
HORIZON = torch.tensor([[3, 5, 4], [2, 2, 1]])
L2 = math.log2


def test_ranks_break_ties_by_item_id():
    assert horizon_ranks(SCORES, HORIZON).tolist() == [[2, 4, 5], [1, 1, 3]]
    flat = torch.zeros(1, 6)
    flat[0, 0] = -INF
    # a model that scores every item alike gains nothing from ties: items rank by id
    assert horizon_ranks(flat, torch.tensor([[3, 5, 4]])).tolist() == [[3, 5, 4]]


def test_a_repeated_horizon_item_counts_once():
    assert first_occurrences(HORIZON).tolist() == [[True, True, True], [True, False, True]]


def test_recall_and_ndcg_over_the_horizon_as_a_set():
    ranks, first = horizon_ranks(SCORES, HORIZON), first_occurrences(HORIZON)
    ideal3 = 1 + 1 / L2(3) + 1 / L2(4)  # 3 distinct items, K >= 3
    recall, ndcg = set_scores(ranks, first, 3)
    assert recall.tolist() == pytest.approx([1 / 3, 2 / 2])
    assert ndcg.tolist() == pytest.approx([(1 / L2(3)) / ideal3, (1 + 1 / L2(4)) / (1 + 1 / L2(3))])
    recall, ndcg = set_scores(ranks, first, 5)
    assert recall.tolist() == pytest.approx([1, 1])
    assert ndcg.tolist() == pytest.approx([(1 / L2(3) + 1 / L2(5) + 1 / L2(6)) / ideal3, (1 + 1 / L2(4)) / (1 + 1 / L2(3))])
    recall, ndcg = set_scores(ranks, first, 1)  # the ideal has min(distinct items, K) = 1 hit
    assert recall.tolist() == pytest.approx([0, 1 / 2]) and ndcg.tolist() == pytest.approx([0, 1])


def recorder(single_spec=True):
    return HorizonRecorder({"topk": [1, 3], "metric_decimal_place": 4, "single_spec": single_spec, "device": "cpu"})


def collect_in_two_batches(rec):
    for row in (0, 1):
        rec.collect({HORIZON_FIELD: HORIZON[row : row + 1]}, SCORES[row : row + 1])


def test_recorder_means_and_per_position_ranks():
    rec = recorder()
    collect_in_two_batches(rec)
    result = rec.result()
    assert list(result) == metric_names([1, 3], 3)
    expected = {
        "horizon_recall@1": (0 + 1 / 2) / 2, "horizon_ndcg@1": (0 + 1) / 2,
        "horizon_recall@3": (1 / 3 + 1) / 2,
        "horizon_ndcg@3": ((1 / L2(3)) / (1 + 1 / L2(3) + 1 / L2(4)) + (1 + 1 / L2(4)) / (1 + 1 / L2(3))) / 2,
        # ranks of the i-th future item: position 1: 2 and 1; position 2: 4 and 1; position 3: 5 and 3
        "horizon_pos1_hit@1": 1 / 2, "horizon_pos1_hit@3": 1, "horizon_pos1_mrr": (1 / 2 + 1) / 2,
        "horizon_pos2_hit@1": 1 / 2, "horizon_pos2_hit@3": 1 / 2, "horizon_pos2_mrr": (1 / 4 + 1) / 2,
        "horizon_pos3_hit@1": 0, "horizon_pos3_hit@3": 1 / 2, "horizon_pos3_mrr": (1 / 5 + 1 / 3) / 2,
    }
    assert result == {k: round(v, 4) for k, v in expected.items()}
    ideal3 = 1 + 1 / L2(3) + 1 / L2(4)
    assert rec.user_ndcg().tolist() == pytest.approx([(1 / L2(3) + 1 / L2(5) + 1 / L2(6)) / ideal3, (1 + 1 / L2(4)) / (1 + 1 / L2(3))])
    rec.reset()
    rec.collect({HORIZON_FIELD: HORIZON[:1]}, SCORES[:1])
    assert rec.result()["horizon_pos1_mrr"] == 0.5  # a new evaluation forgets the last one


def test_distributed_means_are_over_every_process_s_users(monkeypatch):
    # This process evaluated rows 0 and 1, another one row 0 again: the means are those of rows 0, 1, 0.
    other = recorder()
    other.collect({HORIZON_FIELD: HORIZON[:1]}, SCORES[:1])
    other_totals = torch.tensor([*other.result().values(), 1], dtype=torch.float64)  # one user: its sums
    monkeypatch.setattr(torch.distributed, "all_reduce", lambda totals: totals.add_(other_totals))
    distributed, single = recorder(single_spec=False), recorder()
    collect_in_two_batches(distributed)
    collect_in_two_batches(single)
    single.collect({HORIZON_FIELD: HORIZON[:1]}, SCORES[:1])
    assert distributed.result() == pytest.approx(single.result(), abs=1e-4)
