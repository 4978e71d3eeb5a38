"""The bench tests' fake runner and hand-picked runs (no training; imported by the test_bench* files)."""

import math

from recbole_disen.bench import plan

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


def planned(out, *extra):
    """Plan jobs on dataset `toy` into `out`."""
    args = plan.build_parser().parse_args(["--datasets", "toy", "--out", str(out), *extra])
    return plan.plan_jobs(args)


def with_protocols(run, unseen_ndcg, unseen_recall, unseen_users, seen_share, beyond):
    """A fake run as the runner returns it since it tests under both ranking protocols."""
    return {**run, "test_result_recbole": run["test_result"], "test_user_ndcg@10_recbole": run["test_user_ndcg@10"],
            "test_result_unseen": {"ndcg@10": unseen_ndcg, "recall@10": unseen_recall},
            "test_user_ndcg@10_unseen": unseen_users, "test_seen_share@10": seen_share, "test_targets_seen": 0,
            "test_beyond_recbole": beyond, "test_beyond_unseen": {k: v + 0.05 for k, v in beyond.items()}}


def cells_of(text, start):
    line = next(line for line in text.splitlines() if line.startswith(start))
    return [cell.strip() for cell in line.strip("|").split("|")]
