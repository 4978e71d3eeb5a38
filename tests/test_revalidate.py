"""benchmarks/revalidate.py on a tiny bench run: the run's own validation result again, unrounded."""

import json

import pytest

from recbole_disen import cli
from conftest import load_benchmark, tiny_sequences

revalidate = load_benchmark("revalidate")
SETTINGS = ["epochs=2", "hidden_size=16", "inner_size=32", "n_layers=1", "MAX_ITEM_LIST_LENGTH=10",
            "train_batch_size=64", "eval_batch_size=64", "gpu_id=''"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("revalidate")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(tmp_path)
        run_bench(tmp_path)
    return tmp_path / "out" / "runs" / "tiny__SASRec__seed2020.json"


def run_bench(tmp_path):
    lines = [f"{user} {' '.join(items)}" for user, items in tiny_sequences().items()]
    (tmp_path / "tiny.txt").write_text("\n".join(lines) + "\n")
    argv = ["bench", "--datasets", str(tmp_path / "tiny.txt"), "--models", "SASRec", "--seeds", "2020",
            "--out", str(tmp_path / "out"), "--no-progress"]
    for setting in SETTINGS:
        argv += ["--set", setting]
    assert cli.main(argv) == 0


def test_the_best_checkpoint_validates_as_the_run_did_to_seven_decimals(tiny_run, capsys):
    record = json.loads(tiny_run.read_text())
    revalidate.main([str(tiny_run)])
    line = json.loads(capsys.readouterr().out)
    assert line["run_key"] == "tiny__SASRec__seed2020"
    result = line["valid_result"]
    assert result.keys() == record["best_valid_result"].keys()
    for metric, value in result.items():
        assert round(value, 4) == pytest.approx(record["best_valid_result"][metric], abs=1e-12)
    assert any(round(v, 7) != round(v, 4) for v in result.values())  # more decimals than the run kept


def test_a_run_whose_recorded_validation_differs_is_refused(tiny_run):
    record = json.loads(tiny_run.read_text())
    record["best_valid_result"] = {k: min(1.0, v + 0.01) for k, v in record["best_valid_result"].items()}
    with pytest.raises(SystemExit, match="differs from the run's own"):
        revalidate.revalidate(record)
