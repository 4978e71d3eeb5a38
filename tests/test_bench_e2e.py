"""The bench command with the real runner: two models, one seed, tiny data, in worker processes."""

import json
import math

import numpy as np
from scipy import stats

from recbole_disen import cli
from conftest import tiny_sequences

SETTINGS = ["epochs=2", "hidden_size=16", "inner_size=32", "n_layers=1", "MAX_ITEM_LIST_LENGTH=10",
            "train_batch_size=64", "eval_batch_size=64", "gpu_id=''"]


def bench(tmp_path):
    argv = ["bench", "--datasets", str(tmp_path / "tiny.txt"), "--models", "DisenSeqRec,SASRec",
            "--seeds", "2020", "--out", str(tmp_path / "out"), "--no-progress"]
    for setting in SETTINGS:
        argv += ["--set", setting]
    return cli.main(argv)


def test_bench_end_to_end_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = [f"{user} {' '.join(items)}" for user, items in tiny_sequences().items()]
    (tmp_path / "tiny.txt").write_text("\n".join(lines) + "\n")
    assert bench(tmp_path) == 0

    runs = {m: json.loads((tmp_path / "out" / "runs" / f"tiny__{m}__seed2020.json").read_text())
            for m in ("DisenSeqRec", "SASRec")}
    for run in runs.values():
        assert run["epochs_run"] == 2 and run["n_params"] > 0 and run["median_epoch_seconds"] > 0
        assert all(math.isfinite(v) and 0 <= v <= 1 for v in run["test_result"].values())
        assert len(run["test_user_ids"]) == len(run["test_user_ndcg@10"]) == 60

    d, b = (runs[m]["test_result"]["ndcg@10"] for m in ("DisenSeqRec", "SASRec"))
    report = (tmp_path / "out" / "BENCH.md").read_text()
    sasrec_row = next(l for l in report.splitlines() if l.startswith("| DisenSeqRec | SASRec |"))
    cells = [c.strip() for c in sasrec_row.strip("|").split("|")]
    assert cells[3] == f"{d:.4f}" and cells[4] == f"{b:.4f}"
    assert cells[5] == f"{(d - b) / b * 100:+.2f}%"  # relative change, by hand
    order_d = np.argsort(runs["DisenSeqRec"]["test_user_ids"])
    order_b = np.argsort(runs["SASRec"]["test_user_ids"])
    per_user_d = np.array(runs["DisenSeqRec"]["test_user_ndcg@10"])[order_d]
    per_user_b = np.array(runs["SASRec"]["test_user_ndcg@10"])[order_b]
    diff = per_user_d - per_user_b
    assert cells[6] == "60" and cells[7] == f"{diff.mean():+.4f}"
    if diff.any():  # the paired t-test by hand: t = mean / (sd / sqrt(n))
        t = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))
        assert cells[10] == f"{2 * stats.t.sf(abs(t), diff.size - 1):.3g}"
    # both protocols and the beyond-accuracy metrics reach the report from the runs' JSON
    unseen_row = next(l for l in report.splitlines() if l.startswith("| seen removed | DisenSeqRec | SASRec |"))
    d_unseen, b_unseen = (runs[m]["test_result_unseen"]["ndcg@10"] for m in ("DisenSeqRec", "SASRec"))
    assert [c.strip() for c in unseen_row.strip("|").split("|")][4:6] == [f"{d_unseen:.4f}", f"{b_unseen:.4f}"]
    beyond_row = next(l for l in report.splitlines() if l.startswith("| SASRec | RecBole's |"))
    entropy = runs["SASRec"]["test_beyond_recbole"]["entropy@10"]
    assert 0 < entropy and beyond_row.rstrip(" |").endswith(f"{entropy:.4f} ± -")
    assert (tmp_path / "out" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()}
    assert bench(tmp_path) == 0  # resumed: nothing to run again
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()}
