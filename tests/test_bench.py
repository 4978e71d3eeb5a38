"""Tests of the benchmark module with a fake runner (no training; planning reads RecBole's setting names)."""

import json
import logging
import math
import re
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from recbole_disen.bench import command, compare, execute, plan, report, summary, worker
from recbole_disen import files
from recbole_disen.errors import UserError, one_line

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
USER_IDS = [1, 2, 3, 4, 5, 6]
USER_OFFSETS = [-0.10, -0.05, 0.0, 0.02, 0.05, 0.08]
# Hand-picked test NDCG@10 per (model, seed).
NDCG10 = {
    ("DisenSeqRec", 2020): 0.30,
    ("DisenSeqRec", 2021): 0.32,
    ("SASRec", 2020): 0.25,
    ("SASRec", 2021): 0.28,
}


def fake_result(model, dataset, seed, budget_cut=False):
    """A runner result of the contract shape with hand-picked numbers."""
    ndcg = NDCG10[(model, seed)]
    metrics = {f"{name}@{k}": round(ndcg * factor * k / 10, 6)
               for name, factor in (("recall", 2.0), ("ndcg", 1.0), ("mrr", 0.8))
               for k in (5, 10, 20)}
    metrics["ndcg@10"] = ndcg
    return {
        "model": model, "dataset": dataset, "seed": seed,
        "valid_metric": "ndcg@10", "best_valid_score": ndcg + 0.01,
        "best_valid_result": {"ndcg@10": ndcg + 0.01},
        "test_result": metrics,
        "test_user_ids": USER_IDS,
        "test_user_ndcg@10": [ndcg + offset * (1.0 if model == "DisenSeqRec" else 0.5)
                              for offset in USER_OFFSETS],
        "history": [
            {"epoch": epoch, "train_seconds": 1.5, "valid_seconds": 0.5,
             "valid_score": ndcg - 0.05 + 0.02 * epoch, "wall_seconds": 2.0 * (epoch + 1)}
            for epoch in range(3)
        ],
        "best_epoch": 2, "epochs_run": 3, "budget_cut": budget_cut,
        "median_epoch_seconds": 1.5, "test_eval_seconds": 0.25,
        "peak_memory_bytes": 3 * 2**20, "memory_kind": "cpu", "n_params": 12345,
        "checkpoint": f"saved/{model}.pth", "config": {"seed": seed},
        "versions": {"python": "3.11", "torch": "2.13", "recbole": "1.2.1", "numpy": "2",
                     "pandas": "3", "recbole_disen": "0.1"},
        "machine": {"platform": "Linux-test", "cpu_count": 2, "gpu": None},
    }


class FakeRunner:
    """Stands in for recbole_disen.runner.run; counts calls and can fail chosen runs."""

    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def __call__(self, model="DisenSeqRec", dataset="ml-100k", config_files=None,
                 config_dict=None, *, time_budget=None, show_progress=True, saved=True):
        self.calls.append({"model": model, "dataset": dataset, "config_files": config_files,
                           "config_dict": config_dict, "time_budget": time_budget,
                           "show_progress": show_progress})
        seed = config_dict["seed"]
        if (model, seed) in self.fail:
            raise RuntimeError("boom\nsecond line")
        return fake_result(model, dataset, seed, budget_cut=(model, seed) == ("DisenSeqRec", 2021))


def bench_args(out, *extra):
    """Arguments of a small benchmark: 2 models x 2 seeds on the dataset name `toy`."""
    return ["--datasets", "toy", "--models", "DisenSeqRec,SASRec", "--seeds", "2020,2021",
            "--out", str(out), "--no-progress", *extra]


def assert_finite_numbers(value):
    """Every float inside a JSON value is finite."""
    if isinstance(value, dict):
        for item in value.values():
            assert_finite_numbers(item)
    elif isinstance(value, list):
        for item in value:
            assert_finite_numbers(item)
    elif isinstance(value, float):
        assert math.isfinite(value)


def test_cli_writes_run_jsons_and_report(tmp_path, capsys):
    runner = FakeRunner()
    out = tmp_path / "res"
    args = bench_args(out, "--budget", "30", "--set", "hidden_size=64")
    assert command.cli(args, run_fn=runner) == 0

    names = sorted(path.name for path in (out / "runs").glob("*.json"))
    assert names == ["toy__DisenSeqRec__seed2020.json", "toy__DisenSeqRec__seed2021.json",
                     "toy__SASRec__seed2020.json", "toy__SASRec__seed2021.json"]
    run = json.loads((out / "runs" / "toy__SASRec__seed2021.json").read_text())
    assert_finite_numbers(run)
    assert run["run_key"] == "toy__SASRec__seed2021"
    assert run["test_result"]["ndcg@10"] == 0.28
    assert run["spec"] == {
        "model": "SASRec", "dataset": "toy", "seed": 2021, "config_files": [], "budget": 30.0,
        "config_dict": {"hidden_size": 64, "seed": 2021, "metrics": ["Recall", "NDCG", "MRR"],
                        "topk": [5, 10, 20], "valid_metric": "NDCG@10"},
        "inputs": {"data_sha256": None, "config_files_sha256": [], "defaults": run["spec"]["inputs"]["defaults"]},
    }
    # the package's overall.yaml for every model, its DisenSeqRec.yaml for DisenSeqRec only
    assert run["spec"]["inputs"]["defaults"]["padding_free"] is True and "n_intents" not in run["spec"]["inputs"]["defaults"]
    disen = json.loads((out / "runs" / "toy__DisenSeqRec__seed2020.json").read_text())
    assert disen["spec"]["inputs"]["defaults"]["n_intents"] == 2 and disen["spec"]["inputs"]["defaults"]["padding_free"] is True
    call = runner.calls[0]
    assert call["time_budget"] == 30.0 and call["show_progress"] is False
    assert call["config_dict"]["checkpoint_dir"].endswith("toy__DisenSeqRec__seed2020")

    report = (out / "BENCH.md").read_text()
    disen_mean, disen_std = (0.30 + 0.32) / 2, math.sqrt(2 * 0.01**2 / 1)
    sas_mean, sas_std = (0.25 + 0.28) / 2, math.sqrt(2 * 0.015**2 / 1)
    assert f"{disen_mean:.4f} ± {disen_std:.4f}" == "0.3100 ± 0.0141"
    assert f"{sas_mean:.4f} ± {sas_std:.4f}" == "0.2650 ± 0.0212"
    assert "| DisenSeqRec | 2020, 2021 | " in report
    assert "0.3100 ± 0.0141" in report and "0.2650 ± 0.0212" in report
    assert f"{(disen_mean - sas_mean) / sas_mean * 100:+.2f}%" in report  # +16.98%
    assert "| 1/2 |" in report and "| 0/2 |" in report and "12,345" in report
    assert "recbole-disen bench --datasets toy" in report and "Linux-test" in report
    assert "BENCH.md" in capsys.readouterr().out
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC


def test_relative_change_by_hand():
    assert compare.relative_change(0.33, 0.30) == pytest.approx(10.0)
    assert compare.relative_change(0.27, 0.30) == pytest.approx(-10.0)
    assert math.isnan(compare.relative_change(0.1, 0.0))


def test_paired_test_aligns_users_and_matches_hand_t_test():
    ids_a = [5, 1, 3, 2, 4, 9]
    ndcg_a = [0.50, 0.20, 0.45, 0.30, 0.10, 0.99]
    ids_b = [4, 2, 7, 1, 3, 5]
    ndcg_b = [0.05, 0.10, 0.50, 0.15, 0.40, 0.48]
    result = compare.paired_test(ids_a, ndcg_a, ids_b, ndcg_b)

    a = np.array([0.20, 0.30, 0.45, 0.10, 0.50])  # users 1..5
    b = np.array([0.15, 0.10, 0.40, 0.05, 0.48])
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert result["n"] == 5
    assert result["mean_diff"] == pytest.approx(d.mean())
    assert result["ttest_p"] == pytest.approx(2 * stats.t.sf(abs(t), d.size - 1))
    expected = stats.wilcoxon(a, b)
    assert result["wilcoxon_stat"] == pytest.approx(expected.statistic)
    assert result["wilcoxon_p"] == pytest.approx(expected.pvalue)


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


def test_resume_skips_finished_runs_and_reruns_changed_spec(tmp_path):
    runner = FakeRunner()
    out = tmp_path / "res"
    assert command.cli(bench_args(out, "--set", "hidden_size=64"), run_fn=runner) == 0
    assert len(runner.calls) == 4
    assert command.cli(bench_args(out, "--set", "hidden_size=64"), run_fn=runner) == 0
    assert len(runner.calls) == 4
    assert command.cli(bench_args(out, "--set", "hidden_size=32"), run_fn=runner) == 0
    assert len(runner.calls) == 8
    args = bench_args(out, "--set", "hidden_size=32", "--set", "SASRec:dropout_prob=0.1")
    assert command.cli(args, run_fn=runner) == 0
    assert [call["model"] for call in runner.calls[8:]] == ["SASRec", "SASRec"]
    assert runner.calls[-1]["config_dict"]["dropout_prob"] == 0.1


def test_parallel_jobs_in_process(tmp_path):
    runner = FakeRunner()
    assert command.cli(bench_args(tmp_path, "--jobs", "2"), run_fn=runner) == 0
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4


def test_set_values_are_read_as_the_runner_reads_them(tmp_path):
    # The one reader of setting text (recbole_disen.literal), as RecBole reads it: a set stays text.
    args = ["--set", "x={1, 2}", "--set", "flag=true", "--set", "lr=1e-3", "--set", "name=abc"]
    settings = planned(tmp_path, *args)[0].spec["config_dict"]  # what the run is given, as planned
    assert (settings["x"], settings["flag"], settings["lr"], settings["name"]) == ("{1, 2}", True, 0.001, "abc")


def test_a_quoted_set_value_reaches_the_run_as_the_string(tmp_path):
    from recbole_disen.config import DisenConfig

    args = ["--set", "label_text='1'", "--set", "on='True'", "--set", "gpu_id=''", "--set", "name=abc"]
    settings = planned(tmp_path, *args)[0].spec["config_dict"]
    # what the runner's config makes of the config_dict it is given
    read = DisenConfig._convert_config_dict(None, {key: settings[key] for key in ("label_text", "on", "gpu_id", "name")})
    assert read == {"label_text": "1", "on": "True", "gpu_id": "", "name": "abc"}


def test_missing_dataset_path_is_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        command.cli(["--datasets", str(tmp_path / "nope.txt"), "--out", str(tmp_path)],
                  run_fn=FakeRunner())


@pytest.mark.parametrize("item", ["noequals", "=5", ":lr=1", "Caser:lr=1", "seed=3", "bad key=1"])
def test_bad_set_is_user_error(tmp_path, item):
    runner = FakeRunner()
    with pytest.raises(UserError):
        command.cli(bench_args(tmp_path, "--set", item), run_fn=runner)
    assert runner.calls == []


def test_bad_arguments_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="--datasets"):
        command.cli(["--out", str(tmp_path)], run_fn=FakeRunner())
    with pytest.raises(UserError, match="--seeds"):
        command.cli(bench_args(tmp_path, "--seeds", "1,x"), run_fn=FakeRunner())
    with pytest.raises(UserError, match="--models"):
        command.cli(bench_args(tmp_path, "--models", " , "), run_fn=FakeRunner())


def test_set_values_are_literals_or_strings():
    shared, per_model = plan.parse_overrides(
        ["topk_x=[1, 2]", "name=ml-100k", "BERT4Rec:eval_step=5", "path=/a=b"], ["BERT4Rec"])
    assert shared == {"topk_x": [1, 2], "name": "ml-100k", "path": "/a=b"}
    assert per_model == {"BERT4Rec": {"eval_step": 5}}


def test_folder_and_txt_datasets(tmp_path, monkeypatch):
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "shop.inter").write_text("user_id:token\titem_id:token\n")
    lines = tmp_path / "Beauty.txt"
    lines.write_text("1 2 3\n")
    converted = []
    monkeypatch.setattr("recbole_disen.prepare.ensure_user_lines_dataset",
                        lambda src, cache_dir, sha256: converted.append((Path(src), Path(cache_dir), sha256)))
    runner = FakeRunner()
    NDCG10.update({("DisenSeqRec", 7): 0.2})
    args = ["--datasets", f"{folder},{lines}", "--models", "DisenSeqRec", "--seeds", "7",
            "--out", str(tmp_path / "res")]
    try:
        assert command.cli(args, run_fn=runner) == 0
    finally:
        del NDCG10[("DisenSeqRec", 7)]
    assert converted == [(lines, tmp_path / "res" / "data", files.sha256_of(lines))]  # hashed once, when planned
    assert [(call["dataset"], call["config_dict"]["data_path"]) for call in runner.calls] == [
        ("shop", str(tmp_path)), ("Beauty", str(tmp_path / "res" / "data"))]


def test_resolving_a_txt_dataset_converts_nothing(tmp_path):
    lines = tmp_path / "Beauty.txt"
    lines.write_text("1 2 3\n")
    ref = plan.resolve_dataset(str(lines), tmp_path / "data")
    assert ref == plan.DatasetRef("Beauty", str(tmp_path / "data"), str(lines))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Beauty.txt"]


def test_failing_run_is_reported_and_others_still_stored(tmp_path):
    runner = FakeRunner(fail={("SASRec", 2021)})
    assert command.cli(bench_args(tmp_path), run_fn=runner) == 1
    assert len(runner.calls) == 4
    assert len(list((tmp_path / "runs").glob("*.json"))) == 3
    report = (tmp_path / "BENCH.md").read_text()
    assert "`toy__SASRec__seed2021`: RuntimeError: boom" in report
    assert "second line" not in report


def test_a_failing_rerun_keeps_the_finished_result(tmp_path):
    out = tmp_path / "res"
    assert command.cli(bench_args(out, "--set", "hidden_size=64"), run_fn=FakeRunner()) == 0
    before = {path.name: path.read_bytes() for path in (out / "runs").iterdir()}
    failing = FakeRunner(fail={("SASRec", 2021)})
    assert command.cli(bench_args(out, "--set", "hidden_size=32"), run_fn=failing) == 1
    after = {path.name: path.read_bytes() for path in (out / "runs").iterdir()}
    assert after.keys() == before.keys()
    assert after["toy__SASRec__seed2021.json"] == before["toy__SASRec__seed2021.json"]  # kept as it was
    assert all(after[name] != before[name] for name in after if name != "toy__SASRec__seed2021.json")
    report_text = (out / "BENCH.md").read_text()
    assert "4 finished runs read" in report_text
    assert "`toy__SASRec__seed2021`: RuntimeError: boom" in report_text


def test_a_worker_error_reaches_the_user_as_one_line(tmp_path):
    # A real worker process with the real runner; the settings pass the bench's check, the data fails in the worker.
    inter = tmp_path / "toy" / "toy.inter"
    inter.parent.mkdir()
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t1\nu1\ti2\n")
    completed = subprocess.run(
        [sys.executable, "-m", "recbole_disen.bench", "--datasets", "toy/", "--models", "DisenSeqRec",
         "--seeds", "1", "--out", str(tmp_path / "res"), "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, check=False)
    message = f"UserError: {inter}, line 3: 2 fields where the header has 3; a separator '\\t' inside an id"
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr + completed.stdout
    errors = [line for line in completed.stderr.splitlines() if "ERROR" in line or "Error" in line]
    assert len(errors) == 1
    assert re.fullmatch(r"\S+ ERROR run toy__DisenSeqRec__seed1 failed after \d+ s: " + re.escape(message) + ".*",
                        errors[0])
    assert f"`toy__DisenSeqRec__seed1`: {message}" in (tmp_path / "res" / "BENCH.md").read_text()


def test_failure_line_drops_colours_and_later_lines():
    error = ValueError("\x1b[1mbad\x1b[0m value\nmore detail")
    assert execute.failure_line(error) == "ValueError: bad value"
    assert execute.failure_line(KeyError()) == "KeyError"
    assert one_line(error) == "bad value more detail" and one_line(error, limit=6) == "bad va"


def test_worker_entry_point_runs_job_file(tmp_path, monkeypatch):
    runner = FakeRunner(fail={("SASRec", 2020)})
    monkeypatch.setattr(worker, "_load_runner", lambda: runner)
    [good, bad] = planned(tmp_path, "--models", "DisenSeqRec,SASRec", "--seeds", "2020")
    for job, status in ((good, 0), (bad, 1)):
        job_file = tmp_path / f"{job.run_key}.job.json"
        data = {**asdict(job), "error_path": str(tmp_path / f"{job.run_key}.err")}
        job_file.write_text(json.dumps(data))
        assert worker.main([str(job_file)]) == status
    assert json.loads(Path(good.result_path).read_text())["spec"] == good.spec
    assert (tmp_path / f"{bad.run_key}.err").read_text() == "RuntimeError: boom"


def planned(out, *extra):
    """Plan jobs on dataset `toy` into `out`."""
    args = plan.build_parser().parse_args(["--datasets", "toy", "--out", str(out), *extra])
    return plan.plan_jobs(args)


FAKE_WORKER = textwrap.dedent("""
    import json, os, signal, sys
    job = json.load(open(sys.argv[1]))
    model = job["spec"]["model"]
    if model == "SASRec":
        open(job["error_path"], "w").write("ValueError: bad settings")
        sys.exit(1)
    if model == "BERT4Rec":
        os.kill(os.getpid(), signal.SIGKILL)
    result = json.load(open(sys.argv[2]))
    result.update(run_key=job["run_key"], spec=job["spec"])
    json.dump(result, open(job["result_path"], "w"))
""")


def test_subprocess_executor_records_worker_failures(tmp_path, monkeypatch):
    script, result = tmp_path / "fake_worker.py", tmp_path / "result.json"
    script.write_text(FAKE_WORKER)
    result.write_text(json.dumps(fake_result("DisenSeqRec", "toy", 2020)))
    monkeypatch.setattr(execute, "worker_command",
                        lambda job_file: [sys.executable, str(script), str(job_file), str(result)])
    args = bench_args(tmp_path, "--models", "DisenSeqRec,SASRec,BERT4Rec", "--seeds", "2020",
                      "--jobs", "2")
    assert command.cli(args) == 1
    assert [path.name for path in (tmp_path / "runs").glob("*.json")] == [
        "toy__DisenSeqRec__seed2020.json"]
    report = (tmp_path / "BENCH.md").read_text()
    assert "`toy__SASRec__seed2020`: ValueError: bad settings" in report
    assert "`toy__BERT4Rec__seed2020`: worker process killed by signal 9" in report


def test_module_entry_point_reports_user_error(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "recbole_disen.bench", "--datasets", str(tmp_path / "x.txt")],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=False)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: dataset path")


def with_protocols(run, unseen_ndcg, unseen_recall, unseen_users, seen_share, beyond):
    """A fake run as the runner returns it since it tests under both ranking protocols."""
    return {**run, "test_result_recbole": run["test_result"], "test_user_ndcg@10_recbole": run["test_user_ndcg@10"],
            "test_result_unseen": {"ndcg@10": unseen_ndcg, "recall@10": unseen_recall},
            "test_user_ndcg@10_unseen": unseen_users, "test_seen_share@10": seen_share, "test_targets_seen": 0,
            "test_beyond_recbole": beyond, "test_beyond_unseen": {k: v + 0.05 for k, v in beyond.items()}}


def cells_of(text, start):
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_both_protocols_and_beyond_accuracy_tables_by_hand():
    beyond = {"itemcoverage@10": 0.5, "averagepopularity@10": 12.25, "giniindex@10": 0.7,
              "tailpercentage@10": 0.01, "entropy@10": 6.5}
    disen_unseen, sas_unseen = [0.5, 0.1, 0.4, 0.3, 0.6, 0.2], [0.4, 0.2, 0.35, 0.1, 0.5, 0.25]
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
    diff = np.array(disen_unseen) - np.array(sas_unseen)  # 0.1, -0.1, 0.05, 0.2, 0.1, -0.05
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))
    assert unseen[4:9] == ["0.3500", "0.3000", f"{(0.35 - 0.30) / 0.30 * 100:+.2f}%", "6", "+0.0500"]
    assert unseen[10] == f"{stats.wilcoxon(disen_unseen, sas_unseen).pvalue:.3g}"
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
    out = next_item_folder(tmp_path / "res")
    command.write_outputs(out, "recbole-disen bench --datasets toy", [("toy__GRU4Rec__seed1", "ValueError: x")])
    assert (out / "BENCH.md").read_text() == (GOLDEN / "bench_next_item.md").read_text()


def test_a_shared_setting_is_left_out_of_the_runs_of_a_model_without_it(tmp_path, caplog):
    runner = FakeRunner()
    args = ["--datasets", "toy", "--models", "DisenSeqRec,SASRec", "--seeds", "2020", "--out", str(tmp_path),
            "--no-progress", "--set", "n_intents=4", "--set", "train_batch_size=64"]
    with caplog.at_level(logging.INFO):
        assert command.cli(args, run_fn=runner) == 0
    settings = {call["model"]: call["config_dict"] for call in runner.calls}
    assert settings["DisenSeqRec"]["n_intents"] == 4 and "n_intents" not in settings["SASRec"]
    assert settings["DisenSeqRec"]["train_batch_size"] == settings["SASRec"]["train_batch_size"] == 64
    assert "--set n_intents: not a setting of SASRec, left out of its runs" in caplog.text


def test_a_stored_spec_is_the_same_run_when_only_settings_were_added_since():
    spec = {"model": "DisenSeqRec", "seed": 1, "inputs": {"data_sha256": "ab", "defaults": {"n_intents": 2, "causal": True}}}
    older = {**spec, "inputs": {"data_sha256": "ab", "defaults": {"n_intents": 2}}}  # before causal existed
    assert plan.same_spec(spec, spec) and plan.same_spec(older, spec)
    changed = {**spec, "inputs": {"data_sha256": "ab", "defaults": {"n_intents": 4}}}  # the default moved
    assert not plan.same_spec(changed, spec)
    gone = {**spec, "inputs": {"data_sha256": "ab", "defaults": {"n_intents": 2, "causal": True, "old": 1}}}
    assert not plan.same_spec(gone, spec)
    assert not plan.same_spec({**spec, "inputs": {**spec["inputs"], "data_sha256": "cd"}}, spec)
    assert not plan.same_spec({**spec, "seed": 2}, spec)
    assert not plan.same_spec({key: value for key, value in spec.items() if key != "inputs"}, spec)
    assert not plan.same_spec(None, spec)


def test_a_set_that_no_model_has_is_refused_at_planning(tmp_path):
    base = ["--datasets", "toy", "--seeds", "2020", "--out", str(tmp_path), "--no-progress"]
    with pytest.raises(UserError, match="--set dropout_prob is a setting of none of --models DisenSeqRec: remove it"):
        plan.plan_jobs(plan.build_parser().parse_args([*base, "--models", "DisenSeqRec", "--set", "dropout_prob=0.3"]))
    with pytest.raises(UserError, match="--set SASRec:n_intents: n_intents is not a setting of SASRec"):
        plan.plan_jobs(plan.build_parser().parse_args(
            [*base, "--models", "DisenSeqRec,SASRec", "--set", "SASRec:n_intents=4"]))


def test_a_variant_is_also_compared_with_disenseqrec_as_shipped():
    shipped_users, variant_users = [0.5, 0.1, 0.4, 0.3, 0.6, 0.2], [0.6, 0.3, 0.35, 0.3, 0.7, 0.1]
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
    diff = np.array(variant_users) - np.array(shipped_users)  # 0.1, 0.2, -0.05, 0, 0.1, -0.1
    assert unseen[4:9] == ["0.4200", "0.3500", f"{(0.42 - 0.35) / 0.35 * 100:+.2f}%", "6", f"{diff.mean():+.4f}"]
    assert unseen[10] == f"{stats.wilcoxon(variant_users, shipped_users).pvalue:.3g}"
