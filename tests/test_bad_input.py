"""Each bad input: one clear line on stderr, exit status 2, no traceback, nothing written."""

import pytest

from recbole_disen import cli
from recbole_disen.runner import run
from conftest import tiny_sequences, write_inter

HEADER = "user_id:token\titem_id:token\ttimestamp:float\n"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def run_cli(tmp_path, capsys, dataset="bad", *extra):
    code = cli.main([f"--dataset={dataset}", f"--data_path={tmp_path / 'data'}", "--gpu_id=",
                     "--epochs=1", "--show_progress=False", f"--checkpoint_dir={tmp_path / 'saved'}", *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "saved").exists()  # nothing trained, nothing saved
    return err


def write(tmp_path, text):
    (tmp_path / "data" / "bad").mkdir(parents=True)
    (tmp_path / "data" / "bad" / "bad.inter").write_text(text)


def test_missing_dataset_folder(tmp_path, capsys):
    err = run_cli(tmp_path, capsys, "nowhere")
    assert "no data for dataset 'nowhere'" in err and "RecBole has no download address" in err
    assert "nowhere/nowhere.inter" in err


def test_file_without_header(tmp_path, capsys):
    write(tmp_path, "u1\ti1\t1\nu1\ti2\t2\n")
    assert "the first line must be a header of typed fields" in run_cli(tmp_path, capsys)


def test_file_without_timestamp(tmp_path, capsys):
    write(tmp_path, "user_id:token\titem_id:token\nu1\ti1\n")
    assert "the header has no timestamp column" in run_cli(tmp_path, capsys)


def test_non_numeric_value(tmp_path, capsys):
    write(tmp_path, HEADER + "u1\ti1\t1\nu1\ti2\tlater\nu1\ti3\t3\n")
    assert "bad/bad.inter, line 3: timestamp 'later' is not a finite number" in run_cli(tmp_path, capsys)


@pytest.mark.parametrize("text, message", [("", "must be a header"), (HEADER, "holds a header but no interactions")])
def test_empty_file(tmp_path, capsys, text, message):
    write(tmp_path, text)
    assert message in run_cli(tmp_path, capsys)


def test_no_user_can_be_split(tmp_path, capsys):
    write(tmp_path, HEADER + "u1\ti1\t1\nu1\ti2\t2\nu1\ti3\t3\nu2\ti1\t1\n")
    assert "no user of dataset 'bad' has 4 or more interactions" in run_cli(tmp_path, capsys)


def test_short_users_are_dropped_and_counted(tmp_path, tiny_settings, caplog):
    sequences = tiny_sequences()
    sequences.update({"short1": ["i1", "i2", "i4"], "short2": ["i3"]})
    write_inter(tmp_path / "data", "mixed", sequences)
    settings = {**tiny_settings, "data_path": str(tmp_path / "data"), "epochs": 1}
    result = run("DisenSeqRec", "mixed", config_dict=settings)
    assert len(result["test_user_ids"]) == 60  # the two short users take no part
    assert "dropped 2 users with fewer than 4 interactions (4 interactions)" in caplog.text


def test_file_that_is_not_utf8(tmp_path, capsys):
    (tmp_path / "data" / "bad").mkdir(parents=True)
    (tmp_path / "data" / "bad" / "bad.inter").write_bytes(HEADER.encode() + b"u1\t\xff\xfe\t1\n")
    assert "cannot read" in run_cli(tmp_path, capsys)


def test_wrong_type_and_missing_config_file(tmp_path, capsys, tiny_data):
    assert "setting 'train_batch_size' must be of type int" in run_cli(tmp_path, capsys, "tiny", "--train_batch_size=big")
    assert "config file not found: nope.yaml" in run_cli(tmp_path, capsys, "tiny", "--config_files=nope.yaml")
    (tmp_path / "broken.yaml").write_text("n_intents: [\n")
    assert "is not valid YAML" in run_cli(tmp_path, capsys, "tiny", f"--config_files={tmp_path / 'broken.yaml'}")
