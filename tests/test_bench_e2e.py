"""The bench command with the real runner: two models, one seed, tiny data, in worker processes."""

import json
import math

import numpy as np
from scipy import stats

from conftest import tiny_bench, tiny_sequences

def bench(tmp_path, *extra):
    return tiny_bench(tmp_path, "DisenSeqRec,SASRec", *extra)


def test_bench_end_to_end_and_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
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
    assert diff.any()  # two models that rank alike would leave the test below untested
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))  # the paired t-test by hand
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

    # the same models on the next 2 items, into the same folder, beside the next-item runs
    assert bench(tmp_path, "--horizon", "2") == 0
    assert stamps.items() <= {p.name: p.stat().st_mtime_ns for p in (tmp_path / "out" / "runs").iterdir()}.items()
    horizon = {m: json.loads((tmp_path / "out" / "runs" / f"tiny__{m}__seed2020__h2.json").read_text())
               for m in ("DisenSeqRec", "SASRec")}
    short = sum(len(items) < 6 for items in tiny_sequences().values())  # 2 test, 2 validation, 2 training items
    assert short > 0
    for run in horizon.values():
        assert run["horizon"] == 2 and run["valid_metric"] == "horizon_ndcg@10" and run["horizon_dropped_users"] == short
        assert len(run["test_user_ids"]) == len(run["test_user_horizon_ndcg@10"]) == 60 - short
    report = (tmp_path / "out" / "BENCH.md").read_text()
    next_item_part, _, horizon_part = report.partition("### Horizon 2 on tiny (test)")
    assert sasrec_row in next_item_part and horizon_part
    result = horizon["SASRec"]["test_result"]
    names = ("horizon_recall@10", "horizon_ndcg@10", "horizon_pos1_mrr", "horizon_pos2_mrr", "horizon_pos1_hit@10",
             "horizon_pos2_hit@10")
    seen = horizon["SASRec"]["test_seen_share@10"]
    assert next(l for l in horizon_part.splitlines() if l.startswith("| SASRec | 2020 |")) == (
        "| SASRec | 2020 | " + " | ".join(f"{result[name]:.4f} ± -" for name in names) + f" | {seen:.4f} ± - | {short} |")
    row = next(l for l in horizon_part.splitlines() if l.startswith("| DisenSeqRec | SASRec |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    d, b = (horizon[m]["test_result"]["horizon_ndcg@10"] for m in ("DisenSeqRec", "SASRec"))
    per_user = [np.array(horizon[m]["test_user_horizon_ndcg@10"])[np.argsort(horizon[m]["test_user_ids"])]
                for m in ("DisenSeqRec", "SASRec")]
    assert cells[3:5] == [f"{d:.4f}", f"{b:.4f}"] and cells[6] == str(60 - short)
    assert cells[7] == f"{(per_user[0] - per_user[1]).mean():+.4f}"
