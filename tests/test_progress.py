"""benchmarks/progress.py: unfinished runs' curves read from their last checkpoints, merged into the
committed snapshot without losing what the checkpoints no longer hold."""

import json

import torch

from conftest import load_benchmark

progress = load_benchmark("progress")


def _checkpoint(folder, scores, best_epoch):
    folder.mkdir(parents=True)
    history = [{"valid_score": score, "train_seconds": 10.04 + epoch} for epoch, score in enumerate(scores)]
    torch.save({"history": history, "best_epoch": best_epoch, "best_valid_score": max(scores)},
               folder / "SASRec-Dec-07-2026_06-18-25-last.pth")


def test_a_run_is_read_from_its_last_checkpoint(tmp_path):
    _checkpoint(tmp_path / "checkpoints" / "beauty__SASRec__seed2020", [0.01, 0.03, 0.02], best_epoch=1)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "beauty__SASRec__seed2020.json").write_text("{}")
    assert progress.snapshot(tmp_path) == [{
        "run_key": "beauty__SASRec__seed2020", "finished": True, "epochs_run": 3, "best_epoch": 1,
        "best_valid_score": 0.03, "valid_score": [0.01, 0.03, 0.02], "train_seconds": [10.0, 11.0, 12.0]}]


def test_the_committed_file_keeps_gone_runs_and_longer_curves(tmp_path):
    out = tmp_path / "progress.json"
    committed = [
        {"run_key": "b__gone", "epochs_run": 30, "note": "its checkpoint is gone"},
        {"run_key": "c__restarted", "epochs_run": 68, "note": "the longer curve"},
        {"run_key": "a__growing", "epochs_run": 1},
    ]
    out.write_text(json.dumps(committed))
    _checkpoint(tmp_path / "bench" / "checkpoints" / "c__restarted", [0.01, 0.02], best_epoch=1)
    _checkpoint(tmp_path / "bench" / "checkpoints" / "a__growing", [0.01, 0.02], best_epoch=1)
    _checkpoint(tmp_path / "bench" / "checkpoints" / "d__new", [0.05], best_epoch=0)
    progress.main([str(tmp_path / "bench"), "--out", str(out)])
    entries = json.loads(out.read_text())
    assert [(e["run_key"], e["epochs_run"], e.get("note")) for e in entries] == [
        ("a__growing", 2, None), ("b__gone", 30, "its checkpoint is gone"),
        ("c__restarted", 68, "the longer curve"), ("d__new", 1, None)]
