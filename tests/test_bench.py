"""The bench's command line and planning with a fake runner (no training; planning reads RecBole's setting names)."""

import json
import logging
import math
import re
import threading
from pathlib import Path

import pytest

from recbole_disen import files
from recbole_disen.bench import command, plan
from recbole_disen.errors import UserError
from bench_fakes import NDCG10, PNG_MAGIC, FakeRunner, assert_finite_numbers, bench_args, planned

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
    runner, both_running = FakeRunner(), threading.Barrier(2, timeout=60)

    def run_two_at_a_time(*args, **kwargs):
        both_running.wait()  # broken, and so the run failed, unless a second run is in flight at once
        return runner(*args, **kwargs)

    assert command.cli(bench_args(tmp_path, "--jobs", "2"), run_fn=run_two_at_a_time) == 0
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4 and len(runner.calls) == 4


def test_set_values_are_read_as_the_runner_reads_them(tmp_path):
    from recbole_disen.config import DisenConfig

    # The one reader of setting text (recbole_disen.literal), as RecBole reads it: a set stays text.
    texts = {"x": "{1, 2}", "flag": "true", "lr": "1e-3", "name": "abc"}
    settings = planned(tmp_path, *(f"--set={key}={text}" for key, text in texts.items()))[0].spec["config_dict"]
    planned_values = {key: settings[key] for key in texts}  # what the run is given, as planned
    assert planned_values == {"x": "{1, 2}", "flag": True, "lr": 0.001, "name": "abc"}
    # the runner's command line (`recbole-disen --lr=1e-3`) reads the same text to the same values ...
    assert DisenConfig._convert_config_dict(None, texts) == planned_values
    # ... and its config takes the planned values as they are
    assert DisenConfig._convert_config_dict(None, planned_values) == planned_values


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


@pytest.mark.parametrize("item", ["model=SASRec", "dataset=ml-100k", "SASRec:dataset=x"])
def test_a_set_of_what_runs_is_refused_not_ignored(tmp_path, item):
    # each run's model, dataset and data_path come from --models and --datasets, which would win silently
    key = item.partition("=")[0].rpartition(":")[2]
    runner = FakeRunner()
    with pytest.raises(UserError) as caught:
        command.cli(bench_args(tmp_path, "--set", item), run_fn=runner)
    assert str(caught.value) == f"--set cannot change {key!r}: the benchmark sets it ({plan.MANAGED_HINT})"
    assert runner.calls == []


def test_a_data_path_is_taken_for_named_datasets_and_refused_beside_a_path_dataset(tmp_path):
    runner = FakeRunner()
    command.cli(bench_args(tmp_path / "out", "--set", "data_path=/my/data"), run_fn=runner)  # `toy`: a name
    assert {call["config_dict"]["data_path"] for call in runner.calls} == {"/my/data"}
    (tmp_path / "beauty.txt").write_text("u1 i1 i2 i3\n")
    text = f"toy,{tmp_path / 'beauty.txt'}"
    with pytest.raises(UserError) as caught:
        command.cli(["--datasets", text, "--out", str(tmp_path / "out2"), "--set", "data_path=/my/data"], run_fn=runner)
    assert str(caught.value) == (f"--datasets {str(tmp_path / 'beauty.txt')!r} is a path, which sets its data_path: "
                                 "leave data_path out of --set and the config files (it applies to datasets given by name)")
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize("key", ["seed", "checkpoint_dir", "metrics", "dataset"])
def test_a_config_file_that_sets_what_the_bench_sets_is_refused(tmp_path, key):
    path = tmp_path / "shared.yaml"
    path.write_text(f"n_layers: 1\n{key}: 5\n")
    runner = FakeRunner()
    with pytest.raises(UserError) as caught:
        command.cli(bench_args(tmp_path / "out", "--config_files", str(path)), run_fn=runner)
    assert str(caught.value) == (f"config file {str(path)!r} sets {key!r}, which the benchmark sets for every run: "
                                 f"remove it from the file ({plan.MANAGED_HINT})")
    assert runner.calls == [] and not (tmp_path / "out").exists()
    path.write_text("n_layers: 1\n")  # a file of model settings alone is taken
    command.cli(bench_args(tmp_path / "out", "--config_files", str(path)), run_fn=runner)
    assert runner.calls and all(call["config_files"] == [str(path)] for call in runner.calls)


def test_models_under_different_ranking_protocols_are_refused(tmp_path):
    runner = FakeRunner()
    with pytest.raises(UserError) as caught:
        command.cli(bench_args(tmp_path, "--set", "DisenSeqRec:eval_exclude_seen=True"), run_fn=runner)
    assert str(caught.value).startswith("--set gives eval_exclude_seen {'DisenSeqRec': True, 'SASRec': False} by "
                                        "model: the models would be compared under different ranking protocols")
    command.cli(bench_args(tmp_path, "--set", "eval_exclude_seen=True"), run_fn=runner)  # all of them: taken
    assert runner.calls and all(call["config_dict"]["eval_exclude_seen"] is True for call in runner.calls)


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


def test_a_bench_folder_copied_elsewhere_holds_the_same_finished_runs(tmp_path, monkeypatch):
    import shutil

    lines = tmp_path / "Beauty.txt"
    lines.write_text("1 2 3\n")
    monkeypatch.setattr("recbole_disen.prepare.ensure_user_lines_dataset", lambda src, cache_dir, sha256: None)
    runner = FakeRunner()
    args = ["--datasets", str(lines), "--models", "DisenSeqRec,SASRec", "--seeds", "2020", "--no-progress"]
    assert command.cli([*args, "--out", str(tmp_path / "res")], run_fn=runner) == 0 and len(runner.calls) == 2
    shutil.copytree(tmp_path / "res", tmp_path / "elsewhere" / "res")
    # the runs' data_path was res/data, now elsewhere/res/data: the same data by its SHA-256, so nothing reruns
    assert command.cli([*args, "--out", str(tmp_path / "elsewhere" / "res")], run_fn=runner) == 0
    assert len(runner.calls) == 2
    lines.write_text("1 2 3 4\n")  # other contents: both run again
    assert command.cli([*args, "--out", str(tmp_path / "elsewhere" / "res")], run_fn=runner) == 0
    assert len(runner.calls) == 4


def test_a_txt_dataset_whose_name_is_no_dataset_name_is_refused_at_planning(tmp_path):
    (tmp_path / "u l.txt").write_text("u1 i1 i2 i3\n")
    with pytest.raises(UserError) as caught:
        command.cli(["--datasets", str(tmp_path / "u l.txt"), "--out", str(tmp_path / "out")], run_fn=FakeRunner())
    assert str(caught.value) == (f"dataset file {str(tmp_path / 'u l.txt')!r}: the bench names the dataset after the "
                                 "file, and 'u l' is not a dataset name (letters, digits, '-', '_' and '.', not "
                                 "starting with '.'): rename the file")
    assert not (tmp_path / "out").exists()


def test_resolving_a_txt_dataset_converts_nothing(tmp_path):
    lines = tmp_path / "Beauty.txt"
    lines.write_text("1 2 3\n")
    ref = plan.resolve_dataset(str(lines), tmp_path / "data")
    assert ref == plan.DatasetRef("Beauty", str(tmp_path / "data"), str(lines))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Beauty.txt"]


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


@pytest.mark.parametrize("label", ["SASRec@/../../../escaped", "DisenSeqRec@../x", "../SASRec", "SASRec@", "@x",
                                   "Disen SeqRec", "SASRec@a@b", "SASRec@.hidden"])
def test_a_model_label_that_is_no_plain_name_is_refused_before_anything_is_written(tmp_path, label):
    runner, out = FakeRunner(), tmp_path / "res"
    with pytest.raises(UserError, match=f"--models {re.escape(repr(label))} is not a model label: use MODEL or MODEL@VARIANT"):
        command.cli(bench_args(out, "--models", label), run_fn=runner)
    assert runner.calls == [] and sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_variant_label_with_dots_and_dashes_names_its_files(tmp_path):
    jobs = planned(tmp_path, "--models", "SASRec@lr5e-4_do0.6", "--seeds", "1")
    assert [Path(job.result_path).name for job in jobs] == ["toy__SASRec@lr5e-4_do0.6__seed1.json"]
