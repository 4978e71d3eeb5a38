"""The bench's --horizon runs with a fake runner (no training, no RecBole): plan, run names, report."""

import json
import math

import pytest
from scipy import stats

from recbole_disen.bench import command, report, summary
from recbole_disen.errors import UserError
from bench_fakes import PNG_MAGIC, FakeRunner, bench_args, cells_of, fake_result, planned

# Hand-picked horizon test metrics per (model, seed): Recall@10, NDCG@10, MRR of future items 1 and 2.
HORIZON = {
    ("DisenSeqRec", 2020): (0.40, 0.30, 0.50, 0.25),
    ("DisenSeqRec", 2021): (0.50, 0.34, 0.40, 0.20),
    ("SASRec", 2020): (0.30, 0.20, 0.50, 0.10),
    ("SASRec", 2021): (0.36, 0.24, 0.30, 0.10),
}
# Per-user horizon NDCG@10 (users test_bench.USER_IDS); DisenSeqRec's mean over its two seeds is
# 0.5, 0.1, 0.3, 0.5, 0.6, 0.3, so DisenSeqRec - SASRec is 0.2, -0.05, 0.1, 0.25, 0.3, 0.15 per user.
USER_HORIZON_NDCG = {
    ("DisenSeqRec", 2020): [0.6, 0.1, 0.4, 0.5, 0.7, 0.3],
    ("DisenSeqRec", 2021): [0.4, 0.1, 0.2, 0.5, 0.5, 0.3],
    ("SASRec", 2020): [0.3, 0.15, 0.2, 0.25, 0.3, 0.15],
    ("SASRec", 2021): [0.3, 0.15, 0.2, 0.25, 0.3, 0.15],
}
DROPPED = 4


def with_horizon(run, horizon):
    """A fake run as the runner returns it with ``horizon: 2``: its next-item metrics (of the first horizon
    item, 0.9 so that a leak into the next-item tables shows) and the horizon ones."""
    key = (run["model"], run["seed"])
    recall, ndcg, mrr1, mrr2 = HORIZON[key]
    test_result = {**{name: 0.9 for name in run["test_result"]}, "horizon_recall@10": recall,
                   "horizon_ndcg@10": ndcg, "horizon_pos1_mrr": mrr1, "horizon_pos2_mrr": mrr2,
                   "horizon_pos1_hit@10": recall + 0.2, "horizon_pos2_hit@10": recall - 0.1}
    return {**run, "valid_metric": "horizon_ndcg@10", "test_result": test_result, "horizon": horizon,
            "test_seen_share@10": 0.1 * (run["seed"] - 2019),
            "horizon_dropped_users": DROPPED, "test_user_ndcg@10": [0.9] * 6,
            "test_user_horizon_ndcg@10": USER_HORIZON_NDCG[key]}


class HorizonRunner(FakeRunner):
    """The fake runner, answering a run with a horizon as the runner does."""

    def __call__(self, *args, config_dict=None, **kwargs):
        run = super().__call__(*args, config_dict=config_dict, **kwargs)
        return with_horizon(run, config_dict["horizon"]) if config_dict.get("horizon") else run


def test_horizon_jobs_carry_the_two_settings_and_their_own_names(tmp_path):
    next_item = planned(tmp_path, "--models", "DisenSeqRec,SASRec", "--seeds", "2020")
    horizon = planned(tmp_path, "--models", "DisenSeqRec,SASRec", "--seeds", "2020", "--horizon", "3")
    assert [job.run_key for job in horizon] == ["toy__DisenSeqRec__seed2020__h3", "toy__SASRec__seed2020__h3"]
    assert [job.run_key for job in next_item] == ["toy__DisenSeqRec__seed2020", "toy__SASRec__seed2020"]
    assert [job.result_path.rpartition("/")[2] for job in horizon] == [
        "toy__DisenSeqRec__seed2020__h3.json", "toy__SASRec__seed2020__h3.json"]
    assert {job.checkpoint_dir for job in horizon}.isdisjoint(job.checkpoint_dir for job in next_item)
    assert horizon[1].spec["config_dict"] == {
        "seed": 2020, "metrics": ["Recall", "NDCG", "MRR"], "topk": [5, 10, 20],
        "valid_metric": "horizon_ndcg@10", "horizon": 3}
    assert next_item[1].spec["config_dict"] == {
        "seed": 2020, "metrics": ["Recall", "NDCG", "MRR"], "topk": [5, 10, 20], "valid_metric": "NDCG@10"}


@pytest.mark.parametrize(("item", "key"), [("horizon=3", "horizon"), ("valid_metric=horizon_ndcg@10", "valid_metric"),
                                           ("SASRec:horizon=2", "horizon")])
def test_set_of_horizon_or_valid_metric_points_to_the_option(tmp_path, item, key):
    runner = HorizonRunner()
    with pytest.raises(UserError) as caught:
        command.cli(bench_args(tmp_path, "--set", item), run_fn=runner)
    assert str(caught.value) == (f"--set cannot change '{key}': the benchmark sets it (use --models, --datasets "
                                 "and --seeds for what runs, --horizon N for the horizon evaluation, --out for "
                                 "where checkpoints go)")
    assert runner.calls == []


def test_negative_horizon_is_user_error(tmp_path):
    with pytest.raises(UserError, match="--horizon must be an integer >= 0"):
        command.cli(bench_args(tmp_path, "--horizon", "-1"), run_fn=HorizonRunner())


def test_horizon_and_next_item_runs_share_a_folder_and_the_report(tmp_path):
    runner, out = HorizonRunner(), tmp_path / "res"
    assert command.cli(bench_args(out), run_fn=runner) == 0
    next_item_only = (out / "BENCH.md").read_text()
    assert command.cli(bench_args(out, "--horizon", "2"), run_fn=runner) == 0
    assert len(runner.calls) == 8
    assert [call["config_dict"].get("horizon") for call in runner.calls] == [None] * 4 + [2] * 4
    assert sorted(path.name for path in (out / "runs").glob("*.json")) == sorted(
        f"toy__{model}__seed{seed}{suffix}.json"
        for model in ("DisenSeqRec", "SASRec") for seed in (2020, 2021) for suffix in ("", "__h2"))
    text = (out / "BENCH.md").read_text()

    # the next-item tables are those of the next-item runs alone
    before, _, horizon_part = text.partition("### Horizon 2 on toy (test)")
    assert before == next_item_only.replace("--no-progress`", "--no-progress --horizon 2`", 1).replace(
        "4 finished runs", "8 finished runs", 1)
    assert "0.9000" not in before

    # the horizon table: mean ± sample std over seeds, by hand
    # (hit@10 of item 1 and 2: recall + 0.2 and recall - 0.1; the seen share 0.1 and 0.2 for seeds 2020, 2021)
    assert cells_of(horizon_part, "| DisenSeqRec | 2020, 2021 |") == [
        "DisenSeqRec", "2020, 2021", "0.4500 ± 0.0707", "0.3200 ± 0.0283", "0.4500 ± 0.0707", "0.2250 ± 0.0354",
        "0.6500 ± 0.0707", "0.3500 ± 0.0707", "0.1500 ± 0.0707", "4"]
    assert cells_of(horizon_part, "| SASRec | 2020, 2021 |") == [
        "SASRec", "2020, 2021", "0.3300 ± 0.0424", "0.2200 ± 0.0283", "0.4000 ± 0.1414", "0.1000 ± 0.0000",
        "0.5300 ± 0.0424", "0.2300 ± 0.0424", "0.1500 ± 0.0707", "4"]
    assert ("| Model | Seeds | Recall@10 | NDCG@10 | MRR, item 1 | MRR, item 2 | Hit@10, item 1 | Hit@10, item 2 "
            "| Share of the top 10 seen before | Dropped users |") in horizon_part

    # DisenSeqRec against SASRec on per-user horizon NDCG@10: differences 0.2, -0.05, 0.1, 0.25, 0.3, 0.15;
    # the only negative one has rank 1, so W = 1 and the exact two-sided p = 2 * 2 / 2**6
    assert "### DisenSeqRec vs baselines, and its variants vs DisenSeqRec, on toy, horizon 2 (test horizon NDCG@10)" in horizon_part
    assert "| Model | Baseline | Common seeds | Model horizon NDCG@10 | Baseline horizon NDCG@10 |" in horizon_part
    diffs = [0.2, -0.05, 0.1, 0.25, 0.3, 0.15]
    mean = sum(diffs) / 6
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / 5)
    t_p = 2 * stats.t.sf(mean / (sd / math.sqrt(6)), 5)
    assert cells_of(horizon_part, "| DisenSeqRec | SASRec |") == [
        "DisenSeqRec", "SASRec", "2020, 2021", "0.3200", "0.2200", f"{(0.32 - 0.22) / 0.22 * 100:+.2f}%", "6",
        f"{mean:+.4f}", "1.0", f"{2 * 2 / 2**6:.3g}", f"{t_p:.3g}"]
    assert f"{t_p:.3g}" == "0.0261"  # mean 0.1583, sd 0.1241: t = 3.125 with 5 degrees of freedom
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC  # a row of panels for the horizon runs too


def test_horizon_only_dataset_and_a_variant_against_each_baseline():
    runs = [with_horizon(fake_result(model, "toy", seed), 2) for model, seed in HORIZON]
    variant = {**runs[0], "model": "DisenSeqRec@noseq", "test_user_horizon_ndcg@10": [0.4, 0.1, 0.35, 0.45, 0.55, 0.45]}
    text = report.render_markdown(summary.summarise(runs + [variant], command="cmd"))
    assert "## toy\n\n### Horizon 2 on toy (test)" in text  # no empty next-item tables before it
    assert "Both ranking protocols" not in text and "(test NDCG@10)" not in text
    assert cells_of(text, "| DisenSeqRec@noseq | 2020 |")[2:] == [
        "0.4000 ± -", "0.3000 ± -", "0.5000 ± -", "0.2500 ± -", "0.6000 ± -", "0.3000 ± -", "0.1000 ± -", "4"]
    # on seed 2020 only: the variant's per-user differences from SASRec are 0.1, -0.05, 0.15, 0.2, 0.25, 0.3
    assert cells_of(text, "| DisenSeqRec@noseq | SASRec |")[2:10] == [
        "2020", "0.3000", "0.2000", "+50.00%", "6", f"{0.95 / 6:+.4f}", "1.0", "0.0625"]
    assert cells_of(text, "| DisenSeqRec | SASRec |")[2:4] == ["2020, 2021", "0.3200"]


def test_the_horizon_lists_beyond_accuracy_by_hand():
    names = ("itemcoverage@10", "averagepopularity@10", "giniindex@10", "tailpercentage@10", "entropy@10")
    runs = []
    for model, seed in HORIZON:  # coverage 0.5 and 0.7 over the two seeds, the other metrics fixed
        beyond = dict(zip(names, (0.5 if seed == 2020 else 0.7, 20.0, 0.6, 0.02, 7.0)))
        unseen = {name: value + 0.1 for name, value in beyond.items()}
        runs.append({**with_horizon(fake_result(model, "toy", seed), 2), "test_beyond_recbole": beyond,
                     "test_beyond_unseen": unseen})
    text = report.render_markdown(summary.summarise(runs, command="cmd"))
    _, _, part = text.partition("### Beyond accuracy on toy, horizon 2 (test top 10)")
    # the mean and sample std of 0.5 and 0.7: 0.6 and 0.1414
    assert cells_of(part, "| DisenSeqRec | RecBole's |") == [
        "DisenSeqRec", "RecBole's", "0.6000 ± 0.1414", "20.0000 ± 0.0000", "0.6000 ± 0.0000", "0.0200 ± 0.0000",
        "7.0000 ± 0.0000"]
    assert cells_of(part, "| SASRec | seen removed |")[2:4] == ["0.7000 ± 0.1414", "20.1000 ± 0.0000"]
    # runs without these metrics (fake horizon runs elsewhere in this file) get no such table
    plain = report.render_markdown(summary.summarise([with_horizon(fake_result("SASRec", "toy", 2020), 2)], command="cmd"))
    assert "Beyond accuracy" not in plain


def test_a_horizon_run_without_its_per_user_scores_is_skipped(tmp_path):
    (tmp_path / "runs").mkdir()
    run = with_horizon(fake_result("SASRec", "toy", 2020), 2)
    del run["test_user_horizon_ndcg@10"]
    (tmp_path / "runs" / "a.json").write_text(json.dumps(run))
    (tmp_path / "runs" / "b.json").write_text(json.dumps(fake_result("SASRec", "toy", 2020)))
    assert [loaded.get("horizon") for loaded in command.load_runs(tmp_path / "runs")] == [None]
