"""Where does one model gain or lose against another: per-user test NDCG@10 by history length (issue 13).

For two groups of finished bench runs of the same dataset (model A's seeds and model B's), each test
user's NDCG@10 is averaged over each group's seeds (as the bench's report pairs them), the users are
bucketed by the length of their test row's history (the items before the test target, at most
``MAX_ITEM_LIST_LENGTH``), and each bucket gets A's and B's mean, the relative change and the paired
Wilcoxon test, under both ranking protocols (RecBole's, and seen items removed).

    python benchmarks/by_length.py \
        --a benchmarks/results/cpu-table/runs/amazon-beauty__DisenSeqRec@nos2s__seed202{0,1,2}.json \
        --b benchmarks/results/cpu-table/runs/amazon-beauty__SASRec__seed202{0,1,2}.json

``--edges 1 51`` makes one bucket of every test user: the whole-table paired test of any two groups of
runs (two variants of DisenSeqRec, say), which the bench's report pairs only against the baselines.

The history lengths come from the test split, rebuilt from the first A run's spec (the data must be
where that run read it). One JSON line on stdout; ``--out FILE`` also appends it there.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from recbole_disen.bench.compare import paired_test, relative_change, user_mean_scores
from trained_run import emit, read_record, rebuilt

PROTOCOLS = {"recbole": "test_user_ndcg@10_recbole", "unseen": "test_user_ndcg@10_unseen"}
EDGES = (1, 5, 8, 13, 21, 51)  # buckets [1, 5), [5, 8), ..., [21, 51): Amazon rows average 8 items


def buckets(users_a, ndcg_a, users_b, ndcg_b, length_of, edges=EDGES):
    """One row per bucket [low, high) of history length: its paired users ``n``, A's and B's mean NDCG@10
    over them, A's relative change in percent and the Wilcoxon p. ``length_of`` [max user id + 1] maps an
    internal user id to its history length; the users outside every bucket are left out."""
    length_of = np.asarray(length_of)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):  # a handful of buckets, once per report
        keep_a = (length_of[users_a] >= low) & (length_of[users_a] < high)  # [users of A]
        keep_b = (length_of[users_b] >= low) & (length_of[users_b] < high)  # [users of B]
        test = paired_test(users_a[keep_a], ndcg_a[keep_a], users_b[keep_b], ndcg_b[keep_b])
        _, index_a, index_b = np.intersect1d(users_a[keep_a], users_b[keep_b], return_indices=True)
        mean_a = float(ndcg_a[keep_a][index_a].mean()) if test["n"] else float("nan")
        mean_b = float(ndcg_b[keep_b][index_b].mean()) if test["n"] else float("nan")
        rows.append({"lengths": [int(low), int(high) - 1], "n": test["n"], "a": mean_a, "b": mean_b,
                     "change_percent": relative_change(mean_a, mean_b), "wilcoxon_p": test["wilcoxon_p"]})
    return rows


def test_history_lengths(record):
    """[number of users + 1]: each user's test-row history length (0 for users without a test row)."""
    with rebuilt(record) as (_, _, _, test, model):
        feat = test.dataset.inter_feat
        length_of = np.zeros(test.dataset.user_num, dtype=np.int64)
        length_of[feat[model.USER_ID].numpy()] = feat[model.ITEM_SEQ_LEN].numpy()
    return length_of


def compare(records_a, records_b, edges=EDGES):
    """The JSON line: both groups' labels and seeds, and the buckets under each protocol."""
    datasets = {record["spec"]["dataset"] for record in records_a + records_b}
    if len(datasets) != 1:
        raise SystemExit(f"the runs are of several datasets ({', '.join(sorted(datasets))}): give runs of one")
    users = [{user for record in records for user in record["test_user_ids"]} for records in (records_a, records_b)]
    if users[0] != users[1]:
        raise SystemExit(f"the runs' test users differ ({len(users[1] - users[0])} of B's are not A's): "
                         "give runs of one data split")
    length_of = test_history_lengths(records_a[0])
    out = {"dataset": datasets.pop(), "edges": list(edges)}
    for side, records in (("a", records_a), ("b", records_b)):
        out[side] = sorted({record["model"] for record in records})
        out[f"seeds_{side}"] = sorted(record["seed"] for record in records)
    for protocol, key in PROTOCOLS.items():
        (users_a, ndcg_a), (users_b, ndcg_b) = user_mean_scores(records_a, key), user_mean_scores(records_b, key)
        out[protocol] = buckets(users_a, ndcg_a, users_b, ndcg_b, length_of, edges)
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, nargs="+", required=True, help="model A's bench run JSONs (its seeds)")
    parser.add_argument("--b", type=Path, nargs="+", required=True, help="model B's bench run JSONs (its seeds)")
    parser.add_argument("--out", type=Path, help="also append the JSON line to this file")
    parser.add_argument("--edges", type=int, nargs="+", default=list(EDGES),
                        help="bucket edges: bucket [e1, e2), [e2, e3), ... of history length (default %(default)s)")
    args = parser.parse_args(argv)
    if len(args.edges) < 2 or args.edges[0] < 1 or any(b <= a for a, b in zip(args.edges, args.edges[1:])):
        raise SystemExit(f"--edges {' '.join(map(str, args.edges))} are not bucket edges: give two or more "
                         "increasing lengths from 1 on (1 51: every test user in one bucket)")
    emit(compare([read_record(path) for path in args.a], [read_record(path) for path in args.b], args.edges),
         args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
