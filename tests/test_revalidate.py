"""benchmarks/revalidate.py on a tiny bench run: the run's own validation result again, unrounded."""

import json

import pytest

from conftest import load_benchmark, tiny_bench

revalidate = load_benchmark("revalidate")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("revalidate")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(tmp_path)
        assert tiny_bench(tmp_path, "SASRec") == 0
    return tmp_path / "out" / "runs" / "tiny__SASRec__seed2020.json"


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
