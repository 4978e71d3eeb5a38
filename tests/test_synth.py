"""Tests for benchmarks/synth_amazon.py: synthetic Amazon-Books-shaped ratings for the scale runs."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark

N = 20_000


synth = load_benchmark("synth_amazon")


@pytest.fixture(scope="module")
def frame():
    return synth.generate(N, seed=0)


def test_exact_row_count(frame):
    assert len(frame) == N


def test_timestamps_strictly_increase_per_user(frame):
    same_user = frame["user"].to_numpy()[1:] == frame["user"].to_numpy()[:-1]
    steps = np.diff(frame["timestamp"].to_numpy())
    assert (steps[same_user] > 0).all()
    assert frame["timestamp"].min() >= synth.TIME_START


def test_ratings_skewed_high(frame):
    assert set(frame["rating"].unique()) <= {1, 2, 3, 4, 5}
    assert (frame["rating"] >= 4).mean() > 0.7


def test_heavy_tails(frame):
    items = np.sort(frame["item"].value_counts().to_numpy())[::-1]
    assert items[: len(items) // 100].sum() > 0.10 * N  # the top 1% of items
    lengths = frame["user"].value_counts()
    assert lengths.median() <= 2 and lengths.max() >= 100  # most users short, a long tail


def test_deterministic_for_a_seed(frame):
    pd.testing.assert_frame_equal(frame, synth.generate(N, seed=0))
    assert not frame.equals(synth.generate(N, seed=1))


def test_written_file(tmp_path, frame):
    path = synth.write_inter(frame, str(tmp_path), "synth")
    assert path == str(tmp_path / "synth" / "synth.inter")
    lines = Path(path).read_text().splitlines()
    assert lines[0] == "user_id:token\titem_id:token\trating:float\ttimestamp:float"
    assert len(lines) == N + 1
    rows = pd.read_csv(path, sep="\t", dtype=str)
    assert rows.columns.tolist() == ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
    assert rows.notna().all().all()
    assert rows["item_id:token"].str.fullmatch(r"\d{10}").all()
    assert rows["user_id:token"].str.fullmatch(r"A[0-9A-Z]{13}").all()
    assert rows["user_id:token"].nunique() == frame["user"].nunique()  # one token per user
    assert rows["item_id:token"].nunique() == frame["item"].nunique()
    assert (rows["rating:float"].astype(int) == frame["rating"]).all()
    assert (rows["timestamp:float"].astype(np.int64) == frame["timestamp"]).all()
    assert list(tmp_path.joinpath("synth").iterdir()) == [Path(path)]  # no temporary file left
