"""The bench's statistics and report tables, by hand, on fake runs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from recbole_disen.bench import command, compare, report, summary
from bench_fakes import NDCG10, USER_OFFSETS, cells_of, fake_result, with_protocols

def test_relative_change_by_hand():
    assert compare.relative_change(0.33, 0.30) == pytest.approx(10.0)
    assert compare.relative_change(0.27, 0.30) == pytest.approx(-10.0)
    assert math.isnan(compare.relative_change(0.1, 0.0))


def test_paired_test_aligns_users_and_matches_hand_t_test():
    ids_a = [5, 1, 3, 2, 4, 9]
    ndcg_a = [0.50, 0.20, 0.45, 0.30, 0.10, 0.99]
    ids_b = [4, 2, 7, 1, 3, 5]
    ndcg_b = [0.07, 0.10, 0.50, 0.15, 0.41, 0.48]
    result = compare.paired_test(ids_a, ndcg_a, ids_b, ndcg_b)

    a = np.array([0.20, 0.30, 0.45, 0.10, 0.50])  # users 1..5
    b = np.array([0.15, 0.10, 0.41, 0.07, 0.48])
    d = a - b  # 0.05, 0.2, 0.04, 0.03, 0.02: all positive, distinct sizes
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert result["n"] == 5
    assert result["mean_diff"] == pytest.approx(0.34 / 5)
    assert result["ttest_p"] == pytest.approx(2 * stats.t.sf(abs(t), d.size - 1))
    # no negative difference: W = 0, exact two-sided p = 2 * P(W <= 0) = 2 / 2**5
    assert result["wilcoxon_stat"] == 0.0
    assert result["wilcoxon_p"] == pytest.approx(2 / 2**5)


def test_paired_test_wilcoxon_tiny_example():
    # differences 0.1, 0.2, -0.05, 0.3, 0.15: the only negative one has rank 1, so W = 1;
    # exact two-sided p = 2 * P(W <= 1) = 2 * 2 / 2**5 = 0.125
    result = compare.paired_test([1, 2, 3, 4, 5], [0.6, 0.7, 0.45, 0.8, 0.65],
                               [1, 2, 3, 4, 5], [0.5] * 5)
    assert result["wilcoxon_stat"] == pytest.approx(1.0)
    assert result["wilcoxon_p"] == pytest.approx(0.125)


def test_paired_test_all_equal_gives_p_one():
    result = compare.paired_test([1, 2, 3], [0.1, 0.2, 0.3], [3, 2, 1], [0.3, 0.2, 0.1])
    assert result == {"n": 3, "mean_diff": 0.0, "wilcoxon_stat": 0.0, "wilcoxon_p": 1.0,
                      "ttest_p": 1.0}


def test_single_seed_shows_no_std():
    runs = [fake_result("DisenSeqRec", "toy", 2020), fake_result("SASRec", "toy", 2020)]
    text = report.render_markdown(summary.summarise(runs, command="cmd"))
    assert "0.3000 ± -" in text and "0.2500 ± -" in text
    assert f"{(0.30 - 0.25) / 0.25 * 100:+.2f}%" in text


def test_zero_baseline_shows_no_relative_change():
    baseline = fake_result("SASRec", "toy", 2020)
    baseline["test_result"]["ndcg@10"] = 0.0
    text = report.render_markdown(summary.summarise([fake_result("DisenSeqRec", "toy", 2020), baseline], command="cmd"))
    assert "| 0.3000 | 0.0000 | n/a (baseline 0) |" in text and "nan" not in text


def test_both_protocols_and_beyond_accuracy_tables_by_hand():
    beyond = {"itemcoverage@10": 0.5, "averagepopularity@10": 12.25, "giniindex@10": 0.7,
              "tailpercentage@10": 0.01, "entropy@10": 6.5}
    disen_unseen, sas_unseen = [0.5, 0.1, 0.4, 0.3, 0.6, 0.2], [0.44, 0.11, 0.35, 0.1, 0.5, 0.23]
    runs = [
        with_protocols(fake_result("DisenSeqRec", "toy", 2020), 0.35, 0.6, disen_unseen, 0.2, beyond),
        with_protocols(fake_result("SASRec", "toy", 2020), 0.30, 0.5, sas_unseen, 0.125, beyond),
        {**fake_result("SASRec", "toy", 2020), "model": "BERT4Rec"},  # a run from before: no protocols
    ]
    text = report.render_markdown(summary.summarise(runs, command="cmd"))
    # fake_result's recall@10 is twice its NDCG@10 under RecBole's protocol
    assert cells_of(text, "| DisenSeqRec | 2020 | 0.3000") == [
        "DisenSeqRec", "2020", "0.3000 ± -", "0.6000 ± -", "0.3500 ± -", "0.6000 ± -", "0.2000 ± -", "0"]
    assert cells_of(text, "| SASRec | 2020 | 0.2500")[4:7] == ["0.3000 ± -", "0.5000 ± -", "0.1250 ± -"]
    # the run from before is in the main tables only
    assert sum(line.startswith("| BERT4Rec | 2020 |") for line in text.splitlines()) == 1
    assert "| DisenSeqRec | BERT4Rec |" in text and "| BERT4Rec | RecBole's |" not in text
    assert "| RecBole's | DisenSeqRec | BERT4Rec |" not in text

    recbole = cells_of(text, "| RecBole's | DisenSeqRec | SASRec |")
    assert recbole[4:7] == ["0.3000", "0.2500", "+20.00%"]
    unseen = cells_of(text, "| seen removed | DisenSeqRec | SASRec |")
    diff = np.array(disen_unseen) - np.array(sas_unseen)  # 0.06, -0.01, 0.05, 0.2, 0.1, -0.03
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))
    assert unseen[4:9] == ["0.3500", "0.3000", f"{(0.35 - 0.30) / 0.30 * 100:+.2f}%", "6", f"{0.37 / 6:+.4f}"]
    # the negative differences have ranks 1 and 2 of 6, so W = 3; exact two-sided p = 2 * P(W <= 3), where
    # 5 of the 64 sign patterns ({}, {1}, {2}, {3}, {1, 2}) have a negative rank sum of at most 3
    assert unseen[10] == f"{2 * 5 / 64:.3g}"
    assert unseen[11] == f"{2 * stats.t.sf(abs(t), diff.size - 1):.3g}"

    assert cells_of(text, "| DisenSeqRec | RecBole's |") == [
        "DisenSeqRec", "RecBole's", "0.5000 ± -", "12.2500 ± -", "0.7000 ± -", "0.0100 ± -", "6.5000 ± -"]
    assert cells_of(text, "| SASRec | seen removed |")[2:] == [
        "0.5500 ± -", "12.3000 ± -", "0.7500 ± -", "0.0600 ± -", "6.5500 ± -"]


def test_runs_from_before_the_protocols_get_no_protocol_tables():
    runs = [fake_result("DisenSeqRec", "toy", 2020), fake_result("SASRec", "toy", 2020)]
    text = report.render_markdown(summary.summarise(runs, command="cmd"))
    assert "Both ranking protocols" not in text and "Beyond accuracy" not in text


GOLDEN = Path(__file__).parent / "golden"


def next_item_folder(out):
    """A results folder of next-item runs only: protocols or not, a variant, a second dataset."""
    beyond = {"itemcoverage@10": 0.5, "averagepopularity@10": 12.25, "giniindex@10": 0.7,
              "tailpercentage@10": 0.01, "entropy@10": 6.5}
    runs = [with_protocols(fake_result(model, "toy", seed), 0.3 - 0.01 * index, 0.5,
                           [0.1 * index + offset * (index + 1) ** 2 for offset in USER_OFFSETS], 0.2, beyond)
            for index, (model, seed) in enumerate(NDCG10)]
    runs.append({**fake_result("DisenSeqRec", "toy", 2021), "model": "DisenSeqRec@noseq",
                 "test_user_ndcg@10": [0.3, 0.1, 0.4, 0.2, 0.3, 0.25]})
    runs.append({**fake_result("SASRec", "toy", 2020), "model": "BERT4Rec"})
    runs += [{**fake_result(model, "toy", 2020), "dataset": "other"} for model in ("DisenSeqRec", "SASRec")]
    (out / "runs").mkdir(parents=True)
    for index, run in enumerate(runs):
        (out / "runs" / f"{index}.json").write_text(json.dumps(run))
    return out


def test_a_next_item_folder_renders_as_before_horizon_runs(tmp_path):
    # golden/bench_next_item.md is BENCH.md of this folder as the bench wrote it before it knew horizon runs
    # (since then only the titles changed and each variant gained a row against DisenSeqRec as shipped)
    # A format snapshot: the numbers in such tables are checked by hand in the tests above.
    out = next_item_folder(tmp_path / "res")
    command.write_outputs(out, "recbole-disen bench --datasets toy", [("toy__GRU4Rec__seed1", "ValueError: x")])
    assert (out / "BENCH.md").read_text() == (GOLDEN / "bench_next_item.md").read_text()


def test_a_variant_is_also_compared_with_disenseqrec_as_shipped():
    shipped_users, variant_users = [0.5, 0.1, 0.4, 0.3, 0.6, 0.2], [0.6, 0.3, 0.35, 0.34, 0.75, 0.18]
    beyond = dict.fromkeys(("itemcoverage@10", "averagepopularity@10", "giniindex@10", "tailpercentage@10", "entropy@10"), 0.5)
    shipped = with_protocols(fake_result("DisenSeqRec", "toy", 2020), 0.35, 0.6, shipped_users, 0.2, beyond)
    variant = with_protocols({**fake_result("DisenSeqRec", "toy", 2020), "model": "DisenSeqRec@nos2s"},
                             0.42, 0.7, variant_users, 0.2, beyond)
    runs = [shipped, variant, fake_result("SASRec", "toy", 2020)]
    text = report.render_markdown(summary.summarise(runs, command="cmd"))
    # against the baseline as before, and against the shipped model under both protocols; never the
    # shipped model against itself
    assert "| DisenSeqRec@nos2s | SASRec |" in text and "| DisenSeqRec | DisenSeqRec |" not in text
    unseen = cells_of(text, "| seen removed | DisenSeqRec@nos2s | DisenSeqRec |")
    # differences 0.1, 0.2, -0.05, 0.04, 0.15, -0.02: the negative ones have ranks 3 and 1 of 6, so W = 4;
    # 7 of the 64 sign patterns ({}, {1}, {2}, {3}, {4}, {1, 2}, {1, 3}) have a rank sum of at most 4
    assert unseen[4:9] == ["0.4200", "0.3500", f"{(0.42 - 0.35) / 0.35 * 100:+.2f}%", "6", f"{0.42 / 6:+.4f}"]
    assert unseen[10] == f"{2 * 7 / 64:.3g}"
