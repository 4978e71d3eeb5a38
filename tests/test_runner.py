"""End-to-end runs through the command line, safe checkpoints, resume, and bad settings."""

import ast
import math
import os
import random
import signal
import time
from pathlib import Path

import pytest
import torch

from recbole_disen import cli
from recbole_disen.errors import ANSI_ESCAPE, UserError
from recbole_disen.runner import run
from conftest import model_in, settings_of, tiny_sequences, write_inter


def args(settings):
    return [f"--{k}={v}" for k, v in settings.items()]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # RecBole writes log/ and log_tensorboard/ into the working folder


@pytest.mark.parametrize("model", ["DisenSeqRec", "SASRec", "BERT4Rec"])
def test_end_to_end_through_the_cli(model, tiny_settings, capsys):
    assert cli.main([f"--model={model}", "--dataset=tiny", *args(tiny_settings)]) == 0
    out = capsys.readouterr().out
    start = "test, all items ranked (RecBole's protocol): "
    test_line = next(line for line in out.splitlines() if line.startswith(start))
    metrics = ast.literal_eval(test_line[len(start):])  # the printed dict of plain floats
    assert out.startswith("best valid, all items ranked (RecBole's protocol): {")
    assert set(metrics) >= {"recall@10", "ndcg@10", "mrr@10"}
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in metrics.values())
    assert not torch.is_anomaly_enabled()


def test_result_and_checkpoint_load_with_weights_only(tiny_settings):
    result = run("DisenSeqRec", "tiny", config_dict=tiny_settings)
    assert result["epochs_run"] == 2 and len(result["history"]) == 2
    assert all(0 <= v <= 1 for v in result["test_result"].values())
    assert len(result["test_user_ids"]) == len(result["test_user_ndcg@10"]) > 0
    for path in (result["checkpoint"], result["last_checkpoint"]):
        state = torch.load(path, weights_only=True)
        assert state["config"]["model"] == "DisenSeqRec" and "state_dict" in state
    mean_ndcg = sum(result["test_user_ndcg@10"]) / len(result["test_user_ndcg@10"])
    assert mean_ndcg == pytest.approx(result["test_result"]["ndcg@10"], abs=1e-4)
    # Both protocols from the same model: no tiny user repeats an item, so removing the users' earlier
    # items can only lift each target; RecBole's protocol is the one in force by default.
    assert result["test_result"] == result["test_result_recbole"] and result["test_targets_seen"] == 0
    recbole, unseen = result["test_user_ndcg@10_recbole"], result["test_user_ndcg@10_unseen"]
    assert all(u >= r for u, r in zip(unseen, recbole)) and sum(unseen) > sum(recbole)
    assert sum(unseen) / len(unseen) == pytest.approx(result["test_result_unseen"]["ndcg@10"], abs=1e-4)
    assert 0 < result["test_seen_share@10"] < 1
    for name in ("recbole", "unseen"):
        beyond = result[f"test_beyond_{name}"]
        assert set(beyond) == {"itemcoverage@10", "averagepopularity@10", "giniindex@10", "tailpercentage@10", "entropy@10"}
        assert 0 < beyond["itemcoverage@10"] <= 1 and 0 <= beyond["giniindex@10"] < 1
        assert 0 <= beyond["tailpercentage@10"] <= 1 and beyond["averagepopularity@10"] > 0
        assert math.log(10) <= beyond["entropy@10"] <= math.log(40)  # 60 lists of 10 distinct items, 40 items


def test_validation_protocol_follows_the_setting(tiny_settings, caplog):
    """Training does not depend on validation, so the same epochs' weights are validated both ways."""
    import logging

    caplog.set_level(logging.INFO)
    runs = []
    for flag in (False, True):
        caplog.clear()
        runs.append(run("SASRec", "tiny", config_dict={**tiny_settings, "eval_exclude_seen": flag}))
    recbole, unseen = ([h["valid_score"] for h in r["history"]] for r in runs)
    assert all(u > r for u, r in zip(unseen, recbole))
    assert runs[1]["eval_exclude_seen"] and runs[1]["test_result"] == runs[1]["test_result_unseen"]
    assert runs[1]["test_user_ndcg@10"] == runs[1]["test_user_ndcg@10_unseen"]
    # the log names the protocol of each line: validation's is the one in force, both tests are given
    plain = [ANSI_ESCAPE.sub("", line) for line in caplog.messages]  # RecBole's set_color codes
    lines = {line.split(":")[0]: line for line in plain if line.startswith(("best valid", "test, "))}
    assert set(lines) == {"best valid, seen items removed", "test, all items ranked (RecBole's protocol)",
                          "test, seen items removed"}
    ndcg = runs[1]["test_result_recbole"]["ndcg@10"]
    assert f"'ndcg@10': {ndcg}" in lines["test, all items ranked (RecBole's protocol)"]


def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(tiny_settings):
    # About 6 steps an epoch: the seq2seq warm-up of 20 steps is still ramping when the run resumes.
    settings = {**tiny_settings, "s2s_weight": 0.5, "s2s_warmup_steps": 20}
    straight = run("DisenSeqRec", "tiny", config_dict={**settings, "epochs": 4})
    first = run("DisenSeqRec", "tiny", config_dict={**settings, "epochs": 2})
    resumed = run("DisenSeqRec", "tiny", config_dict={**settings, "epochs": 4}, resume=first["last_checkpoint"])
    assert resumed["epochs_run"] == 4
    assert resumed["test_result"] == straight["test_result"]
    assert resumed["best_valid_result"] == straight["best_valid_result"]


def test_missing_amazon_books_is_one_clear_line(tmp_path, capsys):
    code = cli.main(["--dataset=amazon-books", f"--data_path={tmp_path / 'none'}", "--gpu_id="])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: no data for dataset 'amazon-books'")
    assert "amazon-books.inter" in err and "prepare amazon-csv" in err and "Traceback" not in err
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("word, message", [
    ("--n_intens=4", "unknown setting 'n_intens' (did you mean 'n_intents'?)"),
    ("--n_intents=0", "'n_intents' must be an integer >= 1"),
    ("--dropout_prob=0.9", "setting 'dropout_prob' is not one of DisenSeqRec's (other RecBole models have it"),
    ("--model=SASRec --n_intents=4", "setting 'n_intents' is not one of SASRec's (DisenSeqRec has it"),
    ("--lambda=0", "'lambda' must be a number in (0, 1]"),
    ("--lambda=1.5", "'lambda' must be a number in (0, 1]"),
    ("--s2s_weight=-1", "'s2s_weight' must be a finite number >= 0"),
    ("--s2s_temperature=0", "'s2s_temperature' must be a finite number > 0"),
    ("--intent_temperature=-0.1", "'intent_temperature' must be a finite number > 0"),
    ("--aggregation=mean", "'aggregation' must be 'max' or 'logsumexp'"),
    ("--s2s_mask=random", "'s2s_mask' must be 'loss' or 'mass'"),
    ("--s2s_mask=mass --n_intents=1", "s2s_mask 'mass' needs n_intents >= 2"),
    ("--epochs=ten", "setting 'epochs' must be of type int"),
    ("--eval_exclude_seen=yes", "setting 'eval_exclude_seen' must be of type bool"),
    ("--eval_exclude_seen=None", "setting 'eval_exclude_seen' must be True or False"),
    ("--learning_rate=fast", "setting 'learning_rate' must be of type float"),
    ("--train_neg_sample_args={'distribution':'uniform','sample_num':1}", "takes no negative sampling"),
    ("--model=SASRec --loss_type=BPR", "loss_type 'BPR' is not supported: this runner trains every model with CE"),
    ("--model=FPMC", "loss_type 'BPR' is not supported"),  # its own default, not the user's
    ("--model=BPR", "BPR trains on sampled negative pairs, which this runner does not draw"),
    ("--model=S3Rec", "S3Rec needs its own RecBole trainer, which this runner does not use"),
    ("--model=KGAT", "KGAT needs its own RecBole trainer"),
    ("--model=NoSuchModel", "unknown model 'NoSuchModel'"),
    ("--model=SASRek", "unknown model 'SASRek' (did you mean SASRec?)"),
    ("--model=DisenSeqRek", "unknown model 'DisenSeqRek' (did you mean DisenSeqRec?)"),
    ("--model=sasrec", "unknown model 'sasrec': model names are case-sensitive; use SASRec"),
    ("--model=Gru4rec", "unknown model 'Gru4rec': model names are case-sensitive; use GRU4Rec"),
    ("--model=DISENSEQREC", "unknown model 'DISENSEQREC': model names are case-sensitive; use DisenSeqRec"),
    ("--model=NeuMF", "NeuMF trains on labelled interactions (a label for each sampled negative)"),
    ("--model=DIN", "DIN trains on labelled interactions"),
    ("--model=FM", "FM trains on labelled interactions"),
    ("stray", "unrecognised argument 'stray'"),
])
def test_bad_settings_fail_at_start_with_one_line(word, message, tiny_settings, capsys):
    code = cli.main(["--dataset=tiny", *args(settings_of(model_in(word.split()), tiny_settings)), *word.split()])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_distributed_without_gpus_is_one_line(tiny_settings, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    code = cli.main(["--dataset=tiny", *args(tiny_settings), "--nproc=2"])
    err = capsys.readouterr().err
    assert code == 2 and "needs GPUs" in err and err.count("\n") == 1 and "Traceback" not in err


def test_run_arguments_in_both_forms():
    args, settings = cli.parse_run_args(["--model", "SASRec", "--config_files=a.yaml b.yaml", "--epochs=3"])
    assert args["model"] == "SASRec" and args["config_files"] == ["a.yaml", "b.yaml"]
    assert settings == {"epochs": "3"} and args["dataset"] == "ml-100k" and args["nproc"] == 1


def test_resuming_a_finished_run_trains_nothing_and_keeps_the_best(tiny_settings):
    first = run("DisenSeqRec", "tiny", config_dict=tiny_settings)
    best_bytes = open(first["checkpoint"], "rb").read()
    again = run("DisenSeqRec", "tiny", config_dict=tiny_settings, resume=first["last_checkpoint"])
    assert again["epochs_run"] == 2 and again["test_result"] == first["test_result"]
    assert open(first["checkpoint"], "rb").read() == best_bytes


def test_budget_spent_before_the_first_validation_still_tests(tiny_settings):
    result = run("DisenSeqRec", "tiny", config_dict={**tiny_settings, "eval_step": 2, "epochs": 4},
                 time_budget=1e-9)
    assert result["budget_cut"] and result["epochs_run"] == 1 and result["checkpoint"] is None
    assert all(0 <= v <= 1 for v in result["test_result"].values())


SEED7 = random.Random(7)
INDEX_ERROR_BYTES = bytes(SEED7.getrandbits(8) for _ in range(512))  # torch's unpickler raises IndexError on these


@pytest.mark.parametrize("content", [b"not a checkpoint", b"", INDEX_ERROR_BYTES])
def test_bad_resume_file_is_one_line(tmp_path, tiny_settings, capsys, content):
    (tmp_path / "bad.pth").write_bytes(content)
    code = cli.main(["--dataset=tiny", *args(tiny_settings), f"--resume={tmp_path / 'bad.pth'}"])
    err = capsys.readouterr().err
    # RecBole's own dataset warnings may come first (once per process); the error is one last line
    assert code == 2 and err.splitlines()[-1].startswith(f"error: --resume: cannot load checkpoint {tmp_path / 'bad.pth'}: ")
    assert "Traceback" not in err and "weights_only" not in err


def test_settings_the_model_cannot_use_are_one_line(tiny_settings, capsys):
    code = cli.main(["--model=SASRec", "--dataset=tiny", *args(tiny_settings), "--n_heads=3"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot build model SASRec with these settings") and err.count("\n") == 1


def test_a_run_logs_plain_numbers_and_no_recbole_warnings(tiny_settings, caplog, recwarn, tmp_path):
    import logging

    caplog.set_level(logging.INFO)
    shared = tmp_path / "shared.yaml"
    shared.write_text("dropout_prob: 0.2\n")  # Caser's (and others'): left to them, and said in the log
    result = run("DisenSeqRec", "tiny", [str(shared)], config_dict={**tiny_settings, "epochs": 1})
    assert result["test_result"]["ndcg@10"] > 0
    assert "np.float64" not in caplog.text and "test, all items ranked (RecBole's protocol): {" in caplog.text
    assert f"{shared}: setting 'dropout_prob' is not one of DisenSeqRec's" in caplog.text
    assert not [w for w in recwarn if "GradScaler" in str(w.message) or "not writable" in str(w.message)]


def test_a_general_model_runs_without_the_sequential_protocols(tiny_settings):
    result = run("Pop", "tiny", config_dict={**settings_of("Pop", tiny_settings), "epochs": 1})
    assert result["test_result"]["ndcg@10"] > 0
    assert result["test_result_unseen"] is None and result["test_beyond_recbole"] is None


def test_a_config_file_may_hold_settings_of_several_models(tiny_settings, tmp_path):
    from recbole_disen.config import DisenConfig

    shared = tmp_path / "shared.yaml"
    shared.write_text("n_intents: 4\nhidden_size: 16\ndropout_prob: 0.2\n")  # DisenSeqRec's, everyone's, Caser's...
    config = DisenConfig(model="SASRec", dataset="tiny", config_file_list=[str(shared)],
                         config_dict=settings_of("SASRec", tiny_settings))
    assert config["hidden_size"] == 16
    assert config.ignored_settings == [f"{shared}: setting 'n_intents' is not one of SASRec's (DisenSeqRec has it): SASRec ignores it"]
    config = DisenConfig(model="DisenSeqRec", dataset="tiny", config_file_list=[str(shared)], config_dict=tiny_settings)
    assert config["n_intents"] == 4 and config.ignored_settings == [
        f"{shared}: setting 'dropout_prob' is not one of DisenSeqRec's (other RecBole models have it): DisenSeqRec ignores it"]
    with pytest.raises(UserError, match="setting 'n_intents' is not one of SASRec's"):
        DisenConfig(model="SASRec", dataset="tiny", config_dict={**settings_of("SASRec", tiny_settings), "n_intents": 4})


def sigterm(self, train_data, epoch_idx, *rest, **kwargs):
    """What a plain ``kill`` of the process does in the middle of an epoch."""
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None), "SIGTERM would end the test process"
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler interrupts the sleep at once; a process without one is gone before


def ctrl_c(self, train_data, epoch_idx, *rest, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("epochs_done", [0, 1])
@pytest.mark.parametrize("stop", [ctrl_c, sigterm])
def test_ctrl_c_names_the_checkpoint_to_continue_from(stop, epochs_done, tiny_settings, capsys, monkeypatch):
    from recbole_disen.trainer import DisenTrainer

    train_epoch = DisenTrainer._train_epoch

    def stopped(self, train_data, epoch_idx, *rest, **kwargs):
        if epoch_idx == epochs_done:
            stop(self, train_data, epoch_idx)
        return train_epoch(self, train_data, epoch_idx, *rest, **kwargs)

    monkeypatch.setattr(DisenTrainer, "_train_epoch", stopped)
    handler = signal.getsignal(signal.SIGTERM)
    assert cli.main(["--model=SASRec", "--dataset=tiny", *args({**tiny_settings, "epochs": 3})]) == 130
    assert signal.getsignal(signal.SIGTERM) is handler  # the command's own handler is gone with it
    err = capsys.readouterr().err.strip().splitlines()[-1]
    folder = Path(tiny_settings["checkpoint_dir"])
    saved = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
    if epochs_done == 0:
        assert err == "interrupted: no epoch had ended, so there is nothing to continue from"
        assert not [name for name in saved if name.endswith(".pth")]  # the claimed, unwritten names removed
        return
    last = next(name for name in saved if name.endswith("-last.pth"))
    assert err == f"interrupted: run the same command with --resume={folder / last} to continue"
    monkeypatch.undo()
    resumed = run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 3}, resume=str(folder / last))
    assert [entry["epoch"] for entry in resumed["history"]] == [0, 1, 2]  # epoch 0 kept, 1 and 2 trained


def test_a_diverging_run_ends_in_one_line_that_says_what_to_change(tiny_settings, capsys):
    settings = {**tiny_settings, "learning_rate": 1e6}  # finite, so accepted; the first steps blow up
    assert cli.main(["--dataset=tiny", *args(settings)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("error: the training loss became NaN in epoch 0: training diverged; lower learning_rate "
                       "(now 1000000.0) or clip the gradients (clip_grad_norm)")
    assert not any("Traceback" in line for line in err)


def test_recboles_item_based_metrics_run_end_to_end(tiny_settings):
    # RecBole 1.2.1 raised AttributeError at the first validation for each of these (compat.CpuCollector)
    item_based = ["ItemCoverage", "GiniIndex", "AveragePopularity", "TailPercentage", "ShannonEntropy"]
    settings = {**tiny_settings, "metrics": ["NDCG", *item_based], "topk": [10], "valid_metric": "NDCG@10"}
    result = run("SASRec", "tiny", config_dict=settings)
    test = result["test_result"]
    assert set(test) == {"ndcg@10", *(f"{name.lower()}@10" for name in item_based)}
    # the same top 10s as the package's own count of distinct items, which leaves out the padding item
    # that RecBole counts among the tiny data's 40 items
    assert test["itemcoverage@10"] == pytest.approx(result["test_beyond_recbole"]["itemcoverage@10"] * 40 / 41, abs=1e-4)
    assert 0 < test["giniindex@10"] < 1 and 0 < test["tailpercentage@10"] < 1 and test["averagepopularity@10"] > 1
    assert set(result["best_valid_result"]) == set(test)


def test_seq2seq_settings_without_the_term_are_said_to_do_nothing(tiny_settings, tmp_path):
    from recbole_disen.config import DisenConfig

    settings = {**tiny_settings, "s2s_mask": "mass", "lambda": 0.3}  # s2s_weight stays at its default, 0
    config = DisenConfig(model="DisenSeqRec", dataset="tiny", config_dict=settings)
    assert config.ignored_settings == [
        f"setting '{key}' acts on the seq2seq term, which s2s_weight 0 turns off: DisenSeqRec ignores it "
        "(set s2s_weight > 0 to use it)" for key in ("lambda", "s2s_mask")]
    assert DisenConfig(model="DisenSeqRec", dataset="tiny", config_dict={**settings, "s2s_weight": 0.1}).ignored_settings == []


def test_a_config_file_naming_the_runs_dataset_as_a_number_is_the_same_dataset(tiny_settings, tmp_path):
    from recbole_disen.config import DisenConfig

    write_inter(tmp_path / "data", "100", tiny_sequences())
    same = tmp_path / "same.yaml"
    same.write_text("dataset: 100\n")  # yaml reads the number 100
    config = DisenConfig(model="SASRec", dataset="100", config_file_list=[str(same)],
                         config_dict=settings_of("SASRec", tiny_settings))
    assert config["dataset"] == "100"
