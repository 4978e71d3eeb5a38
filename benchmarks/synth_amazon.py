"""Synthetic ratings shaped like RecBole's Amazon Books (2014), written as a RecBole atomic .inter file.

The real file holds about 22.5M ratings by 8.0M users of 2.3M books; a 5-core filter keeps about 40% of
the ratings, 7.5% of the users and 16% of the items. Here, for ``n`` interactions:

* users: sequence lengths follow a discrete power law, P(length >= k) = k ** -USER_EXPONENT, capped at
  MAX_USER_LENGTH; users are drawn until their lengths add up to exactly ``n`` (the last one is cut), so
  most users rate one or two books and a few rate thousands;
* items: ``n * ITEMS_PER_INTERACTION`` books, each with a Pareto(ITEM_EXPONENT) popularity weight, and
  every interaction picks its book by weight (so a few books are very popular, most are rare);
* ratings 1..5 with RATING_SHARES, skewed high as on Amazon;
* timestamps: unix seconds; each user starts between TIME_START and TIME_END and rates at exponential gaps
  (of at least a second) that spread the ratings over a random part of the rest of that window, so they are
  strictly increasing within each user (a few users run somewhat past TIME_END).

The shapes do not depend on ``n``, so the fraction a 5-core filter keeps is about the same at every size.
Tokens look like Amazon's: users ``A`` + 13 base-36 characters, books 10-digit ISBN-like numbers, which
matters for RecBole's memory when it reads them as strings.

    python benchmarks/synth_amazon.py --interactions 1000000 --out /tmp/scale --name synth-1m [--seed 0]

writes ``/tmp/scale/synth-1m/synth-1m.inter`` (temporary file, then ``os.replace``).
"""

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

from recbole_disen.files import atomic_open

USER_EXPONENT = 1.35  # tail of the user sequence lengths
MAX_USER_LENGTH = 5000  # longest user sequence
ITEM_EXPONENT = 1.2  # tail of the item popularity weights
ITEMS_PER_INTERACTION = 2_330_066 / 22_507_155  # Amazon Books 2014: items / ratings
RATING_SHARES = (0.04, 0.05, 0.10, 0.23, 0.58)  # ratings 1..5
TIME_START, TIME_END = 1_000_000_000, 1_406_000_000  # 2001-09-09 .. 2014-07-22, always 10 digits
HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
USER_CHARS = 13  # 36 ** 13 > 2 ** 64, so every uint64 has its own user token
ITEM_DIGITS = 10
TIME_DIGITS = 10
CHUNK_ROWS = 1_000_000
BASE36 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
USER_SCRAMBLE = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication mod 2**64 is a bijection
ITEM_SCRAMBLE = 7_654_321_023  # coprime to 10: multiplication mod 10**10 is a bijection


def say(text):
    """One line of the report on stdout, at once (the run is long)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def user_lengths(n_interactions, rng):
    """Per user, the number of interactions; they add up to exactly ``n_interactions``."""
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < n_interactions:
        draws = np.floor(rng.random(n_interactions // 2 + 1) ** (-1 / USER_EXPONENT))
        lengths = np.r_[lengths, np.minimum(draws, MAX_USER_LENGTH).astype(np.int64)]
    total = np.cumsum(lengths)
    n_users = int(np.searchsorted(total, n_interactions)) + 1
    lengths = lengths[:n_users]
    lengths[-1] -= total[n_users - 1] - n_interactions
    return lengths


def item_draws(n_interactions, rng):
    """Per interaction, an item code drawn by Pareto popularity weights over the catalogue."""
    n_items = max(1, round(n_interactions * ITEMS_PER_INTERACTION))
    weights = rng.random(n_items) ** (-1 / ITEM_EXPONENT)
    cumulative = np.cumsum(weights)
    return np.searchsorted(cumulative, rng.random(n_interactions) * cumulative[-1], side="right")


def timestamps(lengths, rng):
    """Unix seconds, strictly increasing within each user (rows grouped by user, in order)."""
    start = rng.integers(TIME_START, TIME_END, size=len(lengths))
    span = (TIME_END - start) * rng.random(len(lengths))
    mean_gap = np.repeat(span / lengths, lengths)
    gaps = 1 + np.floor(rng.exponential(size=len(mean_gap)) * mean_gap).astype(np.int64)
    steps = np.cumsum(gaps)
    first = np.cumsum(lengths) - lengths
    return np.repeat(start - np.r_[0, steps[first[1:] - 1]], lengths) + steps


def generate(n_interactions, seed=0):
    """DataFrame of integer codes (user, item, rating 1..5, timestamp), grouped by user, in time order."""
    rng = np.random.default_rng(seed)
    lengths = user_lengths(n_interactions, rng)
    return pd.DataFrame({
        "user": np.repeat(np.arange(len(lengths)), lengths),
        "item": item_draws(n_interactions, rng),
        "rating": rng.choice(np.arange(1, 6, dtype=np.int8), size=n_interactions, p=RATING_SHARES),
        "timestamp": timestamps(lengths, rng),
    })


def digits(values, width, base):
    """uint8 [len(values), width]: each value's ``width`` least significant digits, most significant first."""
    values = values.astype(np.uint64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        out[:, column] = (values % np.uint64(base)).astype(np.uint8)
        values = values // np.uint64(base)
    return out


def encode_rows(frame):
    """The frame's rows as tab-separated text lines: uint8 [rows, bytes per row], every row the same width."""
    n = len(frame)
    users = (frame["user"].to_numpy().astype(np.uint64) + np.uint64(1)) * USER_SCRAMBLE  # wraps mod 2**64
    items = frame["item"].to_numpy().astype(np.int64) * ITEM_SCRAMBLE % 10**ITEM_DIGITS
    fields = [
        np.hstack([np.full((n, 1), ord("A"), dtype=np.uint8), BASE36[digits(users, USER_CHARS, 36)]]),
        digits(items, ITEM_DIGITS, 10) + ord("0"),
        frame["rating"].to_numpy().astype(np.uint8)[:, None] + ord("0"),
        digits(frame["timestamp"].to_numpy(), TIME_DIGITS, 10) + ord("0"),
    ]
    tab, newline = (np.full((n, 1), ord(c), dtype=np.uint8) for c in "\t\n")
    return np.hstack([part for field in fields for part in (field, tab)][:-1] + [newline])


def write_inter(frame, out_dir, name):
    """Write ``out_dir/name/name.inter`` atomically; returns its path."""
    path = os.path.join(out_dir, name, f"{name}.inter")
    with atomic_open(path) as f:
        f.write(HEADER.encode())
        for start in range(0, len(frame), CHUNK_ROWS):
            f.write(encode_rows(frame.iloc[start:start + CHUNK_ROWS]).tobytes())
    return path


def describe(frame):
    """One line: rows, users, items, share of the top 1% of items, ratings >= 3."""
    counts = np.sort(frame["item"].value_counts().to_numpy())[::-1]
    top = counts[: max(1, len(counts) // 100)].sum() / len(frame)
    return (
        f"{len(frame)} interactions, {frame['user'].nunique()} users, {len(counts)} items rated, "
        f"top 1% of items hold {top:.0%}, ratings >= 3: {(frame['rating'] >= 3).mean():.0%}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interactions", type=int, required=True)
    parser.add_argument("--out", required=True, help="data_path: the file goes to OUT/NAME/NAME.inter")
    parser.add_argument("--name", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame = generate(args.interactions, args.seed)
    generated = time.perf_counter()
    path = write_inter(frame, args.out, args.name)
    say(describe(frame))
    say(f"generated in {generated - started:.1f} s, wrote {path} in {time.perf_counter() - generated:.1f} s")


if __name__ == "__main__":
    main()
