"""What the bench refuses before it writes, and what it keeps when a run replaces another (fake runner)."""

import json

import pytest

from recbole_disen import prepare
from recbole_disen.bench import command, execute, folder, mixed
from recbole_disen.errors import UserError
from conftest import one_error_line
from bench_fakes import FakeRunner, bench_args

RUN = "toy__SASRec__seed2020"


def listing(root):
    """Every file under ``root`` with its contents."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(autouse=True)
def no_log_handler(monkeypatch):
    """``command.main`` logs to the stderr of its time: here pytest's, gone after the test."""
    monkeypatch.setattr(command, "log_to_stderr", lambda: None)


# ---------------------------------------------------------------- --out


def test_a_folder_of_the_users_own_is_refused_and_left_as_it_was(tmp_path, capsys):
    mine = tmp_path / "mydocs"
    (mine / "data" / "tiny").mkdir(parents=True)
    (mine / "BENCH.md").write_text("my notes\n")
    (mine / "curves.png").write_bytes(b"my plot")
    (mine / "data" / "tiny" / "tiny.inter").write_text("my data\n")
    before = listing(tmp_path)
    runner = FakeRunner()
    with pytest.raises(UserError, match=f"^--out {mine} is not a bench folder \\(it has no runs/ folder\\) and holds "
                                        "BENCH.md, which the bench would replace: choose another --out$"):
        command.cli(bench_args(mine), run_fn=runner)
    assert command.main(["--report-only", "--out", str(mine)]) == 2
    assert "has no runs/ folder, so no bench runs to report" in one_error_line(capsys, quiet_stdout=True)
    assert runner.calls == [] and listing(tmp_path) == before


def test_a_folder_holding_none_of_the_benchs_names_is_written_beside_its_files(tmp_path):
    # as benchmarks/gpu.sh leaves it: a log and a dataset converted into data/ before the bench runs
    out, source = tmp_path / "res", tmp_path / "tiny.txt"
    source.write_text("u1 i1 i2 i3\nu2 i2 i3 i4\n")
    out.mkdir()
    (out / "step_profile.log").write_text("mine\n")
    prepare.ensure_user_lines_dataset(source, out / "data")
    converted = listing(out / "data")
    assert command.cli(["--datasets", str(source), "--models", "SASRec", "--seeds", "2020", "--out", str(out)],
                       run_fn=FakeRunner()) == 0
    assert (out / "step_profile.log").read_text() == "mine\n" and listing(out / "data") == converted
    assert (out / "runs" / "tiny__SASRec__seed2020.json").is_file() and (out / "BENCH.md").is_file()


def test_a_file_named_runs_stops_the_bench_before_it_writes(tmp_path, capsys):
    out, source = tmp_path / "res", tmp_path / "tiny.txt"
    source.write_text("u1 i1 i2 i3\n")
    out.mkdir()
    (out / "runs").write_text("my notes\n")
    assert command.main(["--datasets", str(source), "--models", "SASRec", "--seeds", "1", "--out", str(out)]) == 2
    assert f"--out {out} holds a file named runs" in one_error_line(capsys, quiet_stdout=True)
    assert listing(out) == {"runs": b"my notes\n"}


def test_report_only_without_runs_creates_nothing(tmp_path, capsys):
    assert command.main(["--report-only", "--out", str(tmp_path / "nowhere")]) == 2
    assert f"--out {tmp_path / 'nowhere'} has no runs/ folder" in one_error_line(capsys, quiet_stdout=True)
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    data = tmp_path / "tiny.txt"
    data.write_text("u1 i1 i2 i3\n")
    argv = ["--datasets", str(data), "--models", "SASRec", "--seeds", "1", "--out"]
    assert command.main([*argv, str(data)]) == 2
    assert one_error_line(capsys, quiet_stdout=True) == f"error: --out {data}: {data} is a file, not a folder; choose another --out\n"
    assert command.main([*argv, str(data / "res")]) == 2
    assert one_error_line(capsys, quiet_stdout=True) == (f"error: --out {data / 'res'}: {data} is a file, not a folder; "
                                      "choose another --out\n")
    assert command.main(["--report-only", "--out", str(data)]) == 2
    assert "is a file, not a folder" in one_error_line(capsys, quiet_stdout=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tiny.txt"] and data.read_text() == "u1 i1 i2 i3\n"


def test_a_dataset_file_the_bench_did_not_convert_is_not_replaced(tmp_path):
    out, source = tmp_path / "res", tmp_path / "tiny.txt"
    source.write_text("u1 i1 i2 i3\n")
    (out / "runs").mkdir(parents=True)
    (out / "data" / "tiny").mkdir(parents=True)
    (out / "data" / "tiny" / "tiny.inter").write_text("my data\n")
    runner = FakeRunner()
    with pytest.raises(UserError, match="tiny.inter has no tiny.source.json beside it, the record of a conversion by the bench"):
        command.cli(["--datasets", str(source), "--models", "SASRec", "--seeds", "2020", "--out", str(out)],
                    run_fn=runner)
    assert runner.calls == [] and listing(out / "data") == {"tiny/tiny.inter": b"my data\n"}


# ---------------------------------------------------------------- models and settings, before any run


@pytest.mark.parametrize("extra, message", [
    (["--models", "Foo"], "error: Foo on toy: unknown model 'Foo': use DisenSeqRec or a RecBole model name such as SASRec\n"),
    (["--set", "epochz=1"], "error: DisenSeqRec on toy: unknown setting 'epochz' (did you mean 'epochs'?); "
                            "see properties/model/DisenSeqRec.yaml and RecBole's docs for the settings\n"),
    (["--set", "SASRec:hidden_size=0"], "error: SASRec on toy: setting 'hidden_size' must be an integer >= 1, got 0\n"),
])
def test_models_and_settings_are_checked_before_any_worker_starts(tmp_path, monkeypatch, capsys, extra, message):
    started = []
    monkeypatch.setattr(execute, "run_in_subprocess", lambda job, running: started.append(job))
    assert command.main(bench_args(tmp_path / "res", *extra)) == 2
    assert one_error_line(capsys, quiet_stdout=True) == message
    assert started == [] and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- a run that replaces another


def test_a_replaced_runs_json_joins_its_checkpoints_and_the_report_says_the_row_mixes_settings(tmp_path):
    out = tmp_path / "res"
    first = bench_args(out, "--set", "hidden_size=64")
    assert command.cli(first, run_fn=FakeRunner()) == 0
    earlier = (out / "runs" / f"{RUN}.json").read_bytes()
    second = bench_args(out, "--seeds", "2020", "--set", "hidden_size=32")
    assert command.cli(second, run_fn=FakeRunner()) == 0

    aside = out / "checkpoints" / RUN / "earlier-1"
    assert sorted(path.name for path in aside.iterdir()) == ["spec.json", f"{RUN}.json"]
    assert (aside / f"{RUN}.json").read_bytes() == earlier
    assert json.loads((aside / "spec.json").read_text())["config_dict"]["hidden_size"] == 64
    assert json.loads((out / "runs" / f"{RUN}.json").read_text())["spec"]["config_dict"]["hidden_size"] == 32

    text = (out / "BENCH.md").read_text()
    assert "**Mixed settings.**" in text
    assert "- DisenSeqRec: hidden_size 32 (seed 2020), 64 (seed 2021)\n" in text
    assert "- SASRec: hidden_size 32 (seed 2020), 64 (seed 2021)\n" in text
    commands = text.partition("## Commands\n")[2]
    assert f"- `recbole-disen bench {' '.join(second)}`: 2 runs\n" in commands
    assert f"- `recbole-disen bench {' '.join(first)}`: 2 runs\n" in commands


def test_a_replaced_json_finds_its_checkpoints_set_aside_by_an_earlier_attempt(tmp_path):
    out = tmp_path / "res"
    assert command.cli(bench_args(out, "--seeds", "2020", "--models", "SASRec"), run_fn=FakeRunner()) == 0
    earlier = (out / "runs" / f"{RUN}.json").read_bytes()
    other = bench_args(out, "--seeds", "2020", "--models", "SASRec", "--set", "hidden_size=32")
    assert command.cli(other, run_fn=FakeRunner(fail={("SASRec", 2020)})) == 1  # checkpoints set aside, JSON kept
    assert (out / "runs" / f"{RUN}.json").read_bytes() == earlier
    assert command.cli(other, run_fn=FakeRunner()) == 0
    checkpoints = out / "checkpoints" / RUN
    assert sorted(path.name for path in checkpoints.iterdir()) == [".lock", "earlier-1", "spec.json"]
    assert (checkpoints / "earlier-1" / f"{RUN}.json").read_bytes() == earlier


def test_set_aside_picks_the_newest_folder_of_the_jsons_spec(tmp_path):
    specs = {name: {"model": "SASRec", "seed": 1, "budget": budget} for name, budget in (("a", 1), ("b", 2), ("c", 3))}
    for number, name in enumerate("abac", start=1):
        (tmp_path / f"earlier-{number}").mkdir()
        (tmp_path / f"earlier-{number}" / "spec.json").write_text(json.dumps(specs[name]))
    (tmp_path / "earlier-3" / "run.json").write_text("taken")
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "run.json").write_text("of a")
    folder.set_aside(tmp_path, runs / "run.json", specs["a"])  # earlier-3 is a's too, but holds a run.json
    assert (tmp_path / "earlier-1" / "run.json").read_text() == "of a"
    (runs / "run.json").write_text("no spec")
    folder.set_aside(tmp_path, runs / "run.json", None)  # unreadable: kept in a folder of its own
    assert sorted(path.name for path in (tmp_path / "earlier-5").iterdir()) == ["run.json"]
    assert list(runs.iterdir()) == []


def test_mixed_rows_name_each_difference_seed_by_seed():
    def run(model, seed, config, budget=None, defaults=None, horizon=0):
        spec = {"model": model, "seed": seed, "config_dict": {**config, "seed": seed}, "budget": budget,
                "config_files": [], "inputs": {"data_sha256": "ab" * 32, "config_files_sha256": [],
                                               "defaults": defaults or {}}}
        return {"model": model, "seed": seed, "horizon": horizon, "spec": spec}

    runs = [
        run("SASRec", 1, {"epochs": 2, "data_path": "/a"}, defaults={"padding_free": True}),
        run("SASRec", 2, {"data_path": "/a"}, budget=60.0, defaults={"padding_free": False, "added_since": 1}),
        run("SASRec", 3, {"epochs": 2, "data_path": "/b"}),  # before any default was recorded; its data file moved
        run("DisenSeqRec", 1, {"n_intents": 2}, defaults={"n_intents": 2}),
        run("DisenSeqRec", 2, {"n_intents": 2}, defaults={"n_intents": 2, "causal": True}),
        run("SASRec", 1, {"eval_args": {"a": 1, "b": 2}}, horizon=3),
        run("SASRec", 2, {"eval_args": {"b": 2, "a": 1}}, horizon=3),
        run("SASRec", 3, {"eval_args": {"b": 2, "a": 1}, "epochs": 5}, horizon=3),
        {"model": "BERT4Rec", "seed": 1}, {"model": "BERT4Rec", "seed": 2, "spec": {"budget": 1.0}},
    ]
    assert mixed.mixed_rows(runs) == (
        ("SASRec", ["--budget None (seeds 1, 3), 60.0 (seed 2)", "epochs 2 (seeds 1, 3), unset (seed 2)"]),
        ("SASRec, horizon 3", ["epochs unset (seeds 1, 2), 5 (seed 3)"]),
    )
    assert mixed.mixed_rows(runs[:2]) == (("SASRec", [  # a default both runs record (added_since: one alone)
        "--budget None (seed 1), 60.0 (seed 2)", "default padding_free True (seed 1), False (seed 2)",
        "epochs 2 (seed 1), unset (seed 2)"]),)
