"""Settings from the command line, a config_dict or a yaml file are read as data, never run as code,
and every legitimate value reads as RecBole 1.2.1 reads it."""

import glob
import os

import pytest
import recbole
import yaml
from recbole.config import Config

from recbole_disen import cli
from recbole_disen.config import DisenConfig, properties_dir, yaml_loader
from recbole_disen.literal import literal
from conftest import one_error_line

# Values as they come from the command line (all strings), with what RecBole's eval() makes of them.
LEGITIMATE = {
    "epochs": "300", "learning_rate": "1e-3", "weight_decay": "0.", "seed": "-1", "n": "1_000",
    "topk": "[5, 10]", "metrics": "['Recall', 'NDCG']", "split": "{'LS': 'valid_and_test'}",
    "eval_args": "{'split': {'RS': [0.8, 0.1, 0.1]}, 'order': 'TO', 'mode': 'full'}",
    "pair": "(1, 2)", "flag": "True", "lower": "true", "upper": "FALSE", "none": "None",
    "gpu_id": "", "quoted": "'0'", "name": "gelu", "interval": "[0,inf)", "path": "dataset/ml-100k",
    "tab": "\t", "metric": "NDCG@10", "complex": "1+2j", "builtin": "print",
}


def test_literal_reads_every_legitimate_value_as_recbole_does():
    expected = Config._convert_config_dict(None, dict(LEGITIMATE))  # RecBole's own eval() on our literals
    ours = DisenConfig._convert_config_dict(None, dict(LEGITIMATE))
    assert ours == expected
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in expected.items()}
    assert ours["learning_rate"] == 0.001 and ours["upper"] is False and ours["none"] is None
    assert ours["interval"] == "[0,inf)" and ours["complex"] == "1+2j" and ours["builtin"] == "print"


def test_literal_never_runs_an_expression(tmp_path):
    marker = tmp_path / "ran"
    for text in (f"__import__('pathlib').Path({str(marker)!r}).touch() or 1",
                 f"open({str(marker)!r}, 'w')", "2**10", "[x for x in (1, 2)]"):
        assert literal(text) == text  # kept as the string it is
    assert not marker.exists()


def test_yaml_files_read_as_recbole_reads_them():
    """Every yaml file of RecBole and of this package gives the same values with the safe loader."""
    full_loader = Config._build_yaml_loader(None)
    files = glob.glob(os.path.join(os.path.dirname(recbole.__file__), "properties", "**", "*.yaml"), recursive=True)
    files += glob.glob(os.path.join(properties_dir(), "**", "*.yaml"), recursive=True)
    assert len(files) > 100
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert yaml.load(text, Loader=yaml_loader()) == yaml.load(text, Loader=full_loader), path
    assert yaml.load("a: 1e-3\nb: .5\nc: 2020\n", Loader=yaml_loader()) == {"a": 0.001, "b": 0.5, "c": 2020}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_code_on_the_command_line_does_not_run(tmp_path, tiny_settings, capsys):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch() or 1"
    argv = ["--dataset=tiny", *[f"--{k}={v}" for k, v in tiny_settings.items() if k != "seed"], f"--seed={code}"]
    assert cli.main(argv) == 2
    assert "setting 'seed' must be of type int" in one_error_line(capsys)
    assert not marker.exists() and not (tmp_path / "saved").exists()


@pytest.mark.parametrize("text", [
    "seed: !!python/object/apply:os.system ['touch {marker}']\n",
    "seed: !!python/object/new:pathlib.Path ['{marker}']\n",
    "seed: !!python/name:os.system\n",
])
def test_python_tags_in_a_yaml_file_do_not_run(tmp_path, tiny_settings, capsys, text):
    marker = tmp_path / "ran"
    (tmp_path / "bad.yaml").write_text(text.format(marker=marker))
    argv = ["--dataset=tiny", *[f"--{k}={v}" for k, v in tiny_settings.items()], f"--config_files={tmp_path / 'bad.yaml'}"]
    assert cli.main(argv) == 2
    assert "holds a YAML tag that is not plain data" in one_error_line(capsys)
    assert not marker.exists() and not (tmp_path / "saved").exists()


@pytest.mark.parametrize("value, legal", [
    ("[5,inf)", True), ("(0,10];[20,inf)", True), ([5, 100], True), ((1, 2), True), (None, True),
    ("garbage", False), ("[x,5)", False), ("[5,1]", False), ("[1,2,3]", False), (5, False), ("", False), ("[1,2);", False),
])
def test_intervals_are_refused_where_recbole_would_drop_or_fail(value, legal):
    """RecBole's own parser: a value it reads with no warning and without raising is accepted, and only such a one."""
    from unittest import mock

    from recbole.data.dataset import Dataset

    from recbole_disen.config_rules import is_intervals

    logger = mock.Mock()
    try:
        Dataset._parse_intervals_str(mock.Mock(logger=logger), value)
        recbole_reads_it = not logger.warning.called
    except (ValueError, IndexError):
        recbole_reads_it = False
    assert is_intervals(value) == recbole_reads_it == legal


@pytest.mark.parametrize("value, legal", [
    (None, True), ({"max_norm": 5, "norm_type": 2}, True), ({"max_norm": 0.5, "norm_type": "inf"}, True),
    ({"max_norm": 1, "error_if_nonfinite": True}, True),
    (5, False), ({}, False), ({"norm_type": 2}, False), ({"max_norm": 5, "norm": 2}, False), ({"max_norm": -1}, False),
])
def test_clip_grad_norm_is_accepted_where_torch_clips(value, legal):
    """An accepted value clips the gradient as asked (to max_norm); a refused one makes torch raise, or
    (max_norm < 0) reverses the gradient instead of clipping it."""
    import torch
    from torch.nn.utils.clip_grad import clip_grad_norm_

    from recbole_disen.config_rules import is_clip_grad_norm

    weight = torch.nn.Parameter(torch.zeros(4))
    weight.grad = torch.full((4,), 3.0)  # norm 6
    try:
        clip_grad_norm_([weight], **value)  # as RecBole calls it
        norm = torch.linalg.vector_norm(weight.grad, ord=float(value.get("norm_type", 2)))
        clips = bool(torch.isclose(norm, torch.tensor(float(value["max_norm"]))))  # every one asks for less than the norm
        clips = clips and bool((weight.grad > 0).all())
    except TypeError:  # None too: RecBole does not call it then
        clips = False
    assert is_clip_grad_norm(value) == (value is None or clips) == legal


def test_the_forms_recbole_parses_itself_read_as_recbole_reads_them(tiny_settings, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # RecBole sets it from gpu_id
    cmd = {"gpu_id": "0,1", "clip_grad_norm": "{'max_norm': 5, 'norm_type': 2}", "user_inter_num_interval": "[5,100]",
           "seed": str(2**32 - 1), "stopping_step": "0", "eval_step": "0",
           "eval_args": "{'split': {'LS': 'valid_and_test'}, 'order': 'TO', 'mode': {'valid': 'full', 'test': 'uni100'}}"}
    settings = {key: value for key, value in tiny_settings.items() if key != "gpu_id"}
    config = DisenConfig("DisenSeqRec", "tiny", config_dict=settings, cmd_config_dict=cmd)
    assert config["gpu_id"] == "0,1" and config["seed"] == 2**32 - 1 and config["eval_step"] == 0
    assert config["clip_grad_norm"] == {"max_norm": 5, "norm_type": 2} and config["user_inter_num_interval"] == [5, 100]
    assert config["test_neg_sample_args"] == {"distribution": "uniform", "sample_num": 100}


@pytest.mark.parametrize("value, legal", [
    ("", True), (0, True), ("0,1", True), (-1, True), ("-1", True), ((0, 1), True),
    ("GPU-8f3c2a1e-0b9d-4c55-a1b2-33c4d5e6f708", True), ("MIG-5c1d2e3f-aaaa-bbbb-cccc-0123456789ab,0", True),
    ("first", False), ("0,x", False), ("0,", False), (True, False), ((), False), ("GPU-zz", False),
])
def test_gpu_id_takes_what_cuda_visible_devices_takes(value, legal):
    """Indices (-1 hides every GPU: RecBole then runs on the CPU) and GPU or MIG UUIDs, comma-separated."""
    from recbole_disen.config_rules import is_gpu_id

    assert is_gpu_id(value) == legal
