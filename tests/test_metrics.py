"""Beyond-accuracy metrics, each against values computed by hand on three top-2 lists."""

import math

import numpy as np
import pytest
from recbole.evaluator import metrics as recbole_metrics

from recbole_disen import metrics

# 3 users' top 2 of 5 real items (0 is padding); training counts: i1 10, i2 5, i3 1, i4 0, i5 2.
TOP = np.array([[1, 2], [1, 3], [1, 2]])
COUNTS = np.array([0, 10, 5, 1, 0, 2])
SETTINGS = {"metric_decimal_place": 6, "tail_ratio": 0.4}


def test_each_metric_by_hand():
    result = metrics.beyond_accuracy(TOP, COUNTS, SETTINGS)
    # recommended: i1 3 times, i2 twice, i3 once, in 6 slots
    assert result["itemcoverage@2"] == pytest.approx(3 / 5)
    assert result["averagepopularity@2"] == pytest.approx(((10 + 5) / 2 + (10 + 1) / 2 + (10 + 5) / 2) / 3, abs=1e-6)
    # Gini over all 5 items' recommendation counts sorted [0, 0, 1, 2, 3]: sum (2i - n - 1) P_i / (n sum P)
    assert result["giniindex@2"] == pytest.approx((-4 * 0 - 2 * 0 + 0 * 1 + 2 * 2 + 4 * 3) / (5 * 6), abs=1e-6)
    # the 40% least trained of 5 items: i4 (0) and i3 (1); only the second user has one, in 2 slots
    assert result["tailpercentage@2"] == pytest.approx((0 + 1 / 2 + 0) / 3, abs=1e-6)
    p = np.array([3, 2, 1]) / 6
    assert result["entropy@2"] == pytest.approx(-(p * np.log(p)).sum(), abs=1e-6)
    assert result["entropy@2"] == pytest.approx(1.011404, abs=1e-6)
    # RecBole 1.2.1's ShannonEntropy divides it by the 3 distinct items
    recbole_value = recbole_metrics.ShannonEntropy({"topk": [2], "metric_decimal_place": 6}).get_entropy(TOP)
    assert recbole_value == pytest.approx(1.011404 / 3, abs=1e-6)


def test_entropy_bounds():
    assert metrics.entropy(np.full((4, 3), 7)) == 0.0  # one item in every slot
    assert metrics.entropy(np.arange(12).reshape(4, 3)) == pytest.approx(math.log(12))  # all different


@pytest.mark.parametrize("tail_ratio", [0.1, 0.3, 2, 5])
def test_vectorised_tail_matches_recboles(tail_ratio):
    rng = np.random.default_rng(int(tail_ratio * 10))
    items = rng.integers(1, 30, size=(20, 10))
    counts = {item: int(n) for item, n in enumerate(rng.integers(0, 8, size=30)) if item > 0}
    settings = {"topk": [10], "metric_decimal_place": 6, "tail_ratio": tail_ratio}
    ours = metrics.TailPercentage(settings).get_tail(items, counts)
    theirs = recbole_metrics.TailPercentage(settings).get_tail(items, counts)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs) and 0 < ours.sum() < ours.size
