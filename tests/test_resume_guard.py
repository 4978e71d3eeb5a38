"""``--resume`` continues only the run it was given: another dataset (even of the same shape), other
data, other settings that shape the data or the model, or the best checkpoint instead of the last one
are refused with one line, and the run's checkpoints are left as they were."""

import shutil

import pytest

from conftest import TINY, tiny_sequences, write_inter
from recbole_disen import cli
from recbole_disen.runner import run


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def train(folder):
    """(run result, its settings) of a tiny 1-epoch run in ``folder``."""
    write_inter(folder / "data", "tiny", tiny_sequences())
    settings = {**TINY, "epochs": 1, "data_path": str(folder / "data"), "checkpoint_dir": str(folder / "saved")}
    return run("DisenSeqRec", "tiny", config_dict=settings), settings


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train(tmp_path_factory.mktemp("resume"))


def files_of(folder):
    return {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in folder.iterdir() if path.is_file()}


def resume_refused(capsys, settings, checkpoint, dataset="tiny", **changes):
    """The one error line of a refused resume; the checkpoint folder is unchanged."""
    before = files_of(checkpoint.parent)
    argv = [f"--dataset={dataset}", *[f"--{k}={v}" for k, v in {**settings, "epochs": 3, **changes}.items()],
            f"--resume={checkpoint}"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]) and "Traceback" not in err
    assert files_of(checkpoint.parent) == before
    return errors[0]


def copy_run(result, tmp_path):
    """The run's two checkpoints copied into tmp_path/saved (so each test sees untouched files)."""
    saved = tmp_path / "saved"
    saved.mkdir()
    for path in (result["checkpoint"], result["last_checkpoint"]):
        shutil.copy(path, saved)
    return saved / result["last_checkpoint"].rsplit("/", 1)[1], saved / result["checkpoint"].rsplit("/", 1)[1]


def test_another_dataset_of_the_same_shape_is_refused(trained, tmp_path, capsys):
    result, settings = trained
    last, _ = copy_run(result, tmp_path)
    write_inter(tmp_path / "other", "tiny2", tiny_sequences(seed=1))  # same users and items, other sequences
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent, "data_path": tmp_path / "other"},
                           last, dataset="tiny2")
    assert "dataset is 'tiny' there and 'tiny2' here" in error


def test_the_same_name_in_another_folder_is_refused_unless_it_is_the_same_data(trained, tmp_path, capsys):
    result, settings = trained
    last, _ = copy_run(result, tmp_path)
    write_inter(tmp_path / "other", "tiny", tiny_sequences(seed=1))
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent, "data_path": tmp_path / "other"}, last)
    assert f"was trained on other data than {tmp_path / 'other' / 'tiny'} (interactions " in error
    # a copy of the data it was trained on, elsewhere: the same data, so the run continues
    write_inter(tmp_path / "copy", "tiny", tiny_sequences())
    resumed = run("DisenSeqRec", "tiny", resume=str(last),
                  config_dict={**settings, "epochs": 2, "checkpoint_dir": str(last.parent), "data_path": str(tmp_path / "copy")})
    assert resumed["epochs_run"] == 2 and len(resumed["history"]) == 2


def test_changed_contents_of_the_same_file_are_refused(tmp_path, capsys):
    result, settings = train(tmp_path)
    sequences = tiny_sequences()
    sequences["u1"] = list(reversed(sequences["u1"]))  # same users, items and interactions, another order
    write_inter(tmp_path / "data", "tiny", sequences)
    error = resume_refused(capsys, settings, tmp_path / "saved" / result["last_checkpoint"].rsplit("/", 1)[1])
    assert f"was trained on other data than {tmp_path / 'data' / 'tiny'} (same sizes, other contents)" in error


@pytest.mark.parametrize("change, named", [
    ({"MAX_ITEM_LIST_LENGTH": 20}, "MAX_ITEM_LIST_LENGTH is 10 there and 20 here"),
    ({"eval_args": "{'split': {'LS': 'valid_and_test'}, 'order': 'TO', 'mode': 'uni100'}"}, "eval_args is"),
    ({"user_inter_num_interval": "[6,inf)"}, "user_inter_num_interval is '[0,inf)' there and '[6,inf)' here"),
    ({"load_col": "{'inter': ['user_id', 'item_id', 'timestamp', 'rating']}"}, "load_col is"),
    ({"n_intents": 3}, "n_intents is 2 there and 3 here"),
    ({"valid_metric": "NDCG@10"}, "valid_metric is 'MRR@10' there and 'NDCG@10' here"),
    ({"eval_exclude_seen": True}, "eval_exclude_seen is False there and True here"),
    ({"model": "SASRec"}, "model is 'DisenSeqRec' there and 'SASRec' here"),
])
def test_other_settings_are_refused(trained, tmp_path, capsys, change, named):
    result, settings = trained
    last, _ = copy_run(result, tmp_path)
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent}, last, **change)
    assert error.startswith(f"error: --resume: {last} was trained with other settings (") and named in error


def test_the_best_checkpoint_is_refused_with_the_file_to_pass(trained, tmp_path, capsys):
    result, settings = trained
    last, best = copy_run(result, tmp_path)
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent}, best)
    assert f"{best} is a run's best checkpoint" in error and "ends in '-last.pth'" in error
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent}, last.parent)  # the run's folder
    assert error == (f"error: --resume: {last.parent} is a folder: pass the run's checkpoint in it whose name "
                     "ends in '-last.pth'")


def test_the_same_settings_resume(trained, tmp_path):
    """The guard lets the run's own settings through: 1 epoch + 1 resumed = 2 epochs, into the copies."""
    result, settings = trained
    last, best = copy_run(result, tmp_path)
    resumed = run("DisenSeqRec", "tiny", config_dict={**settings, "checkpoint_dir": str(last.parent), "epochs": 2},
                  resume=str(last))
    assert resumed["epochs_run"] == 2 and resumed["last_checkpoint"] == str(last)
    assert resumed["checkpoint"] == str(best)  # the best checkpoint is the one next to the -last file


def test_distributed_resume_is_checked_before_any_worker_starts(trained, tmp_path, capsys):
    result, settings = trained
    last, best = copy_run(result, tmp_path)
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent}, best, nproc=2)
    assert f"{best} is a run's best checkpoint" in error


def test_a_last_checkpoint_without_its_best_one_is_refused(trained, tmp_path, capsys):
    result, settings = trained
    last, best = copy_run(result, tmp_path)
    best.unlink()
    error = resume_refused(capsys, {**settings, "checkpoint_dir": last.parent}, last)
    assert f"best checkpoint {best} is missing" in error


def test_a_checkpoint_from_before_a_setting_existed_resumes_at_its_default(trained, tmp_path):
    import torch

    result, settings = trained
    last, _ = copy_run(result, tmp_path)
    state = torch.load(last, weights_only=True)
    del state["config"]["causal"]  # written before the setting was added; its default is the old behaviour
    torch.save(state, last)
    resumed = run("DisenSeqRec", "tiny", config_dict={**settings, "checkpoint_dir": str(last.parent), "epochs": 2},
                  resume=str(last))
    assert resumed["epochs_run"] == 2 and resumed["config"]["causal"] is True
