"""Each bad input: one clear line on stderr, exit status 2, no traceback, nothing written."""

import os
import pickle

import pytest

from recbole_disen import cli
from recbole_disen.errors import UserError
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


@pytest.mark.parametrize(("words", "example"), [
    (["--dataset=data/tiny"], "--data_path=data --dataset=tiny"),
    (["--dataset=tiny/", "--data_path=data"], "--dataset=tiny"),  # the data_path given stays
    (["--dataset=sub/tiny", "--data_path=data"], "--data_path=data/sub --dataset=tiny"),
])
def test_a_dataset_given_as_a_path_names_the_split_to_use(capsys, words, example):
    assert cli.main([*words, "--gpu_id="]) == 2
    dataset = words[0].partition("=")[2]
    assert capsys.readouterr().err == (f"error: dataset {dataset!r} is not a dataset name: give the folder that holds "
                                       f"NAME/NAME.inter as --data_path and NAME as --dataset (here {example})\n")


def test_file_without_header(tmp_path, capsys):
    write(tmp_path, "u1\ti1\t1\nu1\ti2\t2\n")
    assert "the first line must be a header of typed fields" in run_cli(tmp_path, capsys)


def test_file_without_timestamp(tmp_path, capsys):
    write(tmp_path, "user_id:token\titem_id:token\nu1\ti1\n")
    assert "the header has no timestamp column" in run_cli(tmp_path, capsys)


def test_file_without_ids(tmp_path, capsys):
    write(tmp_path, "customer:token\tproduct:token\ttimestamp:float\nu1\ti1\t1\n")
    err = run_cli(tmp_path, capsys)
    assert err.endswith("bad/bad.inter: the header has no user_id, item_id columns (add them, or set USER_ID_FIELD "
                        "/ ITEM_ID_FIELD / TIME_FIELD to the names used)\n")


def test_a_time_column_typed_as_token(tmp_path, capsys):
    # RecBole would number token times in order of first appearance: the file's order, not time's
    write(tmp_path, "user_id:token\titem_id:token\ttimestamp:token\nu1\ti1\t5\nu1\ti2\t4\n")
    assert run_cli(tmp_path, capsys).endswith(
        "bad/bad.inter: the header types timestamp as 'token': make it 'timestamp:float' (sequences are ordered "
        "by this number)\n")


def test_ids_typed_as_numbers(tmp_path, capsys):
    write(tmp_path, "user_id:float\titem_id:token\ttimestamp:float\n1\ti1\t1\n")
    assert run_cli(tmp_path, capsys).endswith(
        "bad/bad.inter: the header types user_id as 'float': make it 'user_id:token' (ids are tokens)\n")


def test_comma_separated_file(tmp_path, capsys):
    write(tmp_path, "user_id:token,item_id:token,timestamp:float\nu1,i1,1\n")
    assert run_cli(tmp_path, capsys).endswith(
        "bad/bad.inter: the header is one field when split by field_separator '\\t' and holds ',': if that "
        "separates the fields, set --field_separator=',' (or write the file with tabs, RecBole's default)\n")


def test_file_with_a_byte_order_mark(tmp_path, capsys):
    write(tmp_path, "\ufeff" + HEADER + "u1\ti1\t1\n")
    assert "bad/bad.inter starts with a byte-order mark, which RecBole would read as part of the first column's " \
           "name: save the file as UTF-8 without it, or set --encoding=utf-8-sig" in run_cli(tmp_path, capsys)


def test_a_folder_in_place_of_the_file(tmp_path, capsys):
    (tmp_path / "data" / "bad" / "bad.inter").mkdir(parents=True)
    err = run_cli(tmp_path, capsys)
    assert err == f"error: {tmp_path / 'data' / 'bad' / 'bad.inter'} is a folder: the dataset's interactions must be a file of that name\n"


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
    if os.path.isfile("/proc/self/mem"):  # Linux: a file that exists and cannot be read from its start
        assert "cannot read config file /proc/self/mem: Input/output error" in run_cli(
            tmp_path, capsys, "tiny", "--config_files=/proc/self/mem")


@pytest.mark.parametrize(("text", "extra", "message"), [
    ("model: SASRec\n", [], "setting 'model' (in {path}) is 'SASRec', but this run's model is 'DisenSeqRec': "
                          "remove the setting, or run model 'SASRec'"),
    ("dataset: ml-100k\n", ["--model=SASRec"], "setting 'dataset' (in {path}) is 'ml-100k', but this run's dataset "
                                             "is 'tiny': remove the setting, or run dataset 'ml-100k'"),
])
def test_a_config_file_naming_another_model_or_dataset_is_refused(tmp_path, capsys, tiny_data, text, extra, message):
    path = tmp_path / "other.yaml"
    path.write_text(text)
    assert run_cli(tmp_path, capsys, "tiny", f"--config_files={path}", *extra) == f"error: {message.format(path=path)}\n"


def test_a_topk_beyond_the_number_of_items_stops_before_training(tmp_path, capsys, tiny_data):
    # the tiny data has 40 items; RecBole failed at the first evaluation, after an epoch of training
    assert run_cli(tmp_path, capsys, "tiny", "--topk=[10, 50]") == (
        "error: topk must be from 1 to 40 (the items of tiny), got 50 (the bench's are 5, 10 and 20)\n")


def test_config_files_that_are_a_folder_or_hold_a_space(tmp_path, capsys, tiny_data):
    assert run_cli(tmp_path, capsys, "tiny", f"--config_files={tmp_path / 'data'}") == (
        f"error: config file {tmp_path / 'data'} is a folder: give the path of a yaml file\n")
    (tmp_path / "my settings.yaml").write_text("n_layers: 1\n")
    assert run_cli(tmp_path, capsys, "tiny", "--config_files=my settings.yaml") == (
        "error: --config_files splits its value at spaces, as RecBole does, so 'my settings.yaml' cannot be given "
        "there: rename the file without spaces\n")


@pytest.mark.parametrize(("setting", "message"), [
    ("--metrics=[]", "setting 'metrics' must be a metric name or a non-empty list of them, such as ['Recall', 'NDCG'], got []"),
    ("--topk=[]", "setting 'topk' must be an integer >= 1 or a non-empty list of them, such as [10, 20], got []"),
    ("--topk=[10, 0]", "setting 'topk' must be an integer >= 1 or a non-empty list of them, such as [10, 20], got [10, 0]"),
])
def test_empty_metrics_or_topk(tmp_path, capsys, tiny_data, setting, message):
    assert run_cli(tmp_path, capsys, "tiny", setting) == f"error: {message}\n"


def test_an_id_with_a_tab_that_shifts_the_columns(tmp_path, capsys):
    write(tmp_path, HEADER + "u1\ti1\t1\nu1\ti2\tpart\t2\nu1\ti3\t3\n")
    err = run_cli(tmp_path, capsys)
    assert "bad/bad.inter, line 3: 4 fields where the header has 3" in err and "inside an id" in err


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", ""])
def test_a_timestamp_that_is_not_finite(tmp_path, capsys, timestamp):
    write(tmp_path, HEADER + f"u1\ti1\t1\nu1\ti2\t2\n\nu1\ti3\t{timestamp}\n")
    assert f"bad/bad.inter, line 5: timestamp {timestamp!r} is not a finite number" in run_cli(tmp_path, capsys)


def duplicated_data(tmp_path):
    """tiny_sequences with u1's last interaction and one of u2's written twice (same item, same time)."""
    path = write_inter(tmp_path / "data", "dup", tiny_sequences())
    lines = path.read_text().splitlines()
    u1_last = max(i for i, line in enumerate(lines) if line.startswith("u1\t"))
    u2_first = next(i for i, line in enumerate(lines) if line.startswith("u2\t"))
    assert u1_last < u2_first
    lines[u2_first:u2_first] = [lines[u2_first]]  # the later line first: the earlier index stays right
    lines[u1_last:u1_last] = [lines[u1_last]]
    path.write_text("\n".join(lines) + "\n")
    return tiny_sequences()["u1"]


@pytest.mark.parametrize("drop", [True, False])
def test_exact_duplicate_rows_are_dropped_or_kept_and_counted(tmp_path, tiny_settings, caplog, drop):
    from recbole_disen.runner import build, build_config

    u1 = duplicated_data(tmp_path)
    settings = {**tiny_settings, "data_path": str(tmp_path / "data"), "drop_duplicate_rows": drop}
    dataset, _, valid_data, test_data, _ = build(build_config("DisenSeqRec", "dup", config_dict=settings))
    word = "dropped" if drop else "kept"
    assert f"{word} 2 exact duplicate rows (equal user_id, item_id, timestamp) of dataset 'dup'" in caplog.text
    assert len(dataset.inter_feat) == sum(len(s) for s in tiny_sequences().values()) - 60 + (0 if drop else 2)
    uid = dataset.token2id("user_id", "u1")
    for split, target in ((test_data, u1[-1]), (valid_data, u1[-1] if not drop else u1[-2])):
        feat = split.dataset.inter_feat
        row = int((feat["user_id"] == uid).nonzero()[-1])
        last_input = int(feat["item_id_list"][row][int(feat["item_length"][row]) - 1])
        assert dataset.id2token("item_id", int(feat["item_id"][row])) == target
        # Kept, the duplicate is the test row's own last input: the answer is in the question.
        leaked = dataset.id2token("item_id", last_input) == target
        assert leaked == (not drop and split is test_data)


@pytest.mark.parametrize("setting, message", [
    ("--MAX_ITEM_LIST_LENGTH=0", "'MAX_ITEM_LIST_LENGTH' must be an integer >= 1, got 0"),
    ("--hidden_size=0", "'hidden_size' must be an integer >= 1, got 0"),
    ("--n_layers=0", "'n_layers' must be an integer >= 1, got 0"),
    ("--learning_rate=-0.001", "'learning_rate' must be a finite number > 0, got -0.001"),
    ("--learning_rate=1e999", "'learning_rate' must be a finite number > 0, got inf"),  # reads as infinity
    ("--learner=sparse_adam", "'learner' must be one of adam, adamw, sgd, adagrad, rmsprop, got 'sparse_adam'"),
    ("--learner=foo", "'learner' must be one of adam, adamw, sgd, adagrad, rmsprop, got 'foo'"),
    ("--s2s_temperature=1e999", "'s2s_temperature' must be a finite number > 0, got inf"),
    ("--hidden_dropout_prob=nan", "setting 'hidden_dropout_prob' must be of type float"),  # text, not a number
    ("--food=1", "unknown setting 'food'"),  # a dataset of RecBole's download list, not a setting
    ("--ml-100k=3", "unknown setting 'ml-100k'"),
    ("--future_max_len=~", "'future_max_len' must be of type int like its default 5, got '~'; on the command line None "
     "stands for yaml's ~"),
    ("--train_batch_size=0", "'train_batch_size' must be an integer >= 1, got 0"),
    ("--eval_batch_size=0", "'eval_batch_size' must be an integer >= 1, got 0"),
    ("--hidden_dropout_prob=1.5", "'hidden_dropout_prob' must be a number in [0, 1], got 1.5"),
    ("--valid_metric=NDCG@20", "valid_metric 'NDCG@20' is not computed"),
    ("--valid_metric=NDCG", "valid_metric 'NDCG' is not computed"),
    ("--save_dataloaders=True", "setting 'save_dataloaders' is not supported here"),
    ("--MAX_ITEM_LIST_LENGTH=1000000000", "MAX_ITEM_LIST_LENGTH 1000000000 cannot fit: the run needs at least"),
    ("--n_intents=1000000000", "n_intents 1000000000 cannot fit: the run needs at least"),
    ("--hidden_size=1000000 --inner_size=16", "hidden_size 1000000 cannot fit: the run needs at least"),
    ("--MAX_ITEM_LIST_LENGTH=None", "'MAX_ITEM_LIST_LENGTH' must be an integer >= 1, got None"),
    ("--initializer_range=-1", "'initializer_range' must be a finite number > 0, got -1"),
    ("--layer_norm_eps=0", "'layer_norm_eps' must be a finite number > 0, got 0"),
    ("--hidden_act=foo", "'hidden_act' must be one of gelu, relu, swish, tanh, sigmoid, got 'foo'"),
    ("--drop_duplicate_rows=None", "'drop_duplicate_rows' must be True or False, got None"),
    ("--horizon=3 --valid_metric=horizon_ndcg@10 --MAX_ITEM_LIST_LENGTH=2", "horizon 3 is longer than MAX_ITEM_LIST_LENGTH 2"),
    # numpy refuses these seeds, with a traceback, after the config is built
    ("--seed=-1", "setting 'seed' must be an integer in [0, 4294967295] (numpy's range of seeds), got -1"),
    ("--seed=99999999999", "setting 'seed' must be an integer in [0, 4294967295]"),
    # RecBole calls clip_grad_norm_(params, **clip_grad_norm) in the first training step
    ("--clip_grad_norm=5", "'clip_grad_norm' must be None (no clipping) or a dict of torch's clip_grad_norm_ "
                           "arguments such as {'max_norm': 5, 'norm_type': 2}, got 5"),
    ("--clip_grad_norm={'max_norm':-1}", "'clip_grad_norm' must be None (no clipping) or a dict"),
    # RecBole treats a negative stopping_step as 0 and a negative eval_step as 0 (no validation)
    ("--stopping_step=-1", "'stopping_step' must be an integer >= 0, the validations without improvement"),
    ("--eval_step=-1", "'eval_step' must be an integer >= 0, the epochs between validations (0: no validation"),
    ("--gpu_id=first", "'gpu_id' must be '' for the CPU, or GPU ids (indices or UUIDs) separated by commas such as 0 or 0,1, got 'first'"),
    ("--gpu_id=0,x", "'gpu_id' must be '' for the CPU, or GPU ids (indices or UUIDs) separated by commas"),
    # RecBole drops the first with a warning (no filter) and blames the data for the second
    ("--user_inter_num_interval=garbage", "'user_inter_num_interval' must be None or intervals such as '[5,inf)'"),
    ("--user_inter_num_interval=[x,5)", "'user_inter_num_interval' must be None or intervals such as '[5,inf)'"),
    ("--item_inter_num_interval=[5,1]", "'item_inter_num_interval' must be None or intervals"),
    # RecBole's DataLoader refuses it, in words of its own (num_workers), while splitting the data
    ("--worker=-1", "setting 'worker' must be an integer >= 0"),
    ("--eval_args={'split':{'XX':1},'order':'TO'}", "eval_args: split 'XX' is not a method RecBole has: use {'LS': "),
    ("--eval_args={'split':{'XX':1}}", "eval_args: split 'XX' is not a method RecBole has"),
    ("--eval_args={'split':{'LS':'valid_and_test'}}",
     "eval_args: order 'RO' (RecBole's own for an eval_args that leaves order out) cannot be used"),
    ("--eval_args={'split':{'RS':[0.8,0.2]},'order':'TO'}", "eval_args: split RS must be 3 ratios >= 0"),
    ("--eval_args={'split':{'LS':'valid_and_test'},'order':'TO','mode':'uni'}", "eval_args: mode must be 'full'"),
])
def test_out_of_range_settings_stop_before_any_work(tmp_path, capsys, tiny_data, setting, message):
    assert message in run_cli(tmp_path, capsys, "tiny", *setting.split())


def test_a_checkpoint_dir_that_is_a_file(tmp_path, capsys, tiny_data):
    (tmp_path / "taken").write_text("not a folder")
    for folder in (tmp_path / "taken", tmp_path / "taken" / "sub"):
        err = run_cli(tmp_path, capsys, "tiny", f"--checkpoint_dir={folder}")
        assert f"checkpoint_dir '{folder}' cannot hold checkpoints: {tmp_path / 'taken'} is a file" in err
    assert (tmp_path / "taken").read_text() == "not a folder"


def test_a_pickled_dataset_in_the_checkpoint_dir_is_not_loaded(tmp_path, capsys, tiny_data):
    marker, folder = tmp_path / "ran", tmp_path / "shared"
    folder.mkdir()
    pickled = folder / "tiny-for-DisenSeqRec-dataloader.pth"
    pickled.write_bytes(pickle.dumps(WritesFile(str(marker))))
    err = run_cli(tmp_path, capsys, "tiny", f"--checkpoint_dir={folder}")
    assert f"{pickled} is a pickled dataset that RecBole would load" in err and not marker.exists()


class WritesFile:
    """Unpickling this creates ``path``: a stand-in for a pickle that runs code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_eval_args_recbole_cannot_split_by(tmp_path, capsys):
    write_inter(tmp_path / "data", "good", tiny_sequences())
    err = run_cli(tmp_path, capsys, "good",
                  "--eval_args={'split': {'LS': 'valid_and_test'}, 'order': 'RO', 'mode': 'full'}")
    assert err == ("error: eval_args: order 'RO' cannot be used: a sequential model orders each user's items by "
                   "time, so give 'order': 'TO' in eval_args\n")


def test_a_checkpoint_dir_where_no_folder_can_be_made(tmp_path, capsys, tiny_data):
    if not os.path.isdir("/proc"):
        pytest.skip("needs Linux's /proc, where no folder can be made")
    err = run_cli(tmp_path, capsys, "tiny", "--checkpoint_dir=/proc/recbole-disen-nope")
    assert err == ("error: checkpoint_dir '/proc/recbole-disen-nope' cannot hold checkpoints: no folder can be made "
                   "in /proc (No such file or directory); choose another --checkpoint_dir\n")


def test_the_checkpoint_dir_check_leaves_nothing_behind(tmp_path, tiny_settings):
    from recbole_disen.config import DisenConfig

    (tmp_path / "saved").mkdir()
    DisenConfig("DisenSeqRec", "tiny", config_dict=tiny_settings)
    DisenConfig("DisenSeqRec", "tiny", config_dict={**tiny_settings, "checkpoint_dir": str(tmp_path / "new" / "sub")})
    assert os.listdir(tmp_path / "saved") == [] and not (tmp_path / "new").exists()


@pytest.mark.parametrize("text, message", [
    ("- n_intents: 4\n", "holds a list at its top level: write one 'setting: value' line per setting"),
    ("just words\n", "holds a str at its top level"),
    ("1: 2\n", "1 is not a setting name"),
    ("n_intens: 4\n", "unknown setting 'n_intens' (in {path}) (did you mean 'n_intents'?)"),
    ("hidden_size: 0\n", "setting 'hidden_size' (in {path}) must be an integer >= 1, got 0"),
])
def test_a_config_file_that_is_not_settings_is_named(tmp_path, capsys, tiny_data, text, message):
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    err = run_cli(tmp_path, capsys, "tiny", f"--config_files={path}")
    assert message.format(path=path) in err and (str(path) in err)


def test_the_memory_check_counts_the_rows_a_batch_can_hold(tiny_settings, monkeypatch):
    from recbole.data import data_preparation

    from recbole_disen import limits
    from recbole_disen.runner import build_config, build_dataset

    settings = {**tiny_settings, "train_batch_size": 10**10, "eval_batch_size": 10**10, "MAX_ITEM_LIST_LENGTH": 5}
    config = build_config("DisenSeqRec", "tiny", config_dict=settings)
    dataset = build_dataset(config)  # passes: 10**10 rows of item scores would need 3 TB
    scores = limits.estimates(config, dataset)[-1]
    monkeypatch.setattr(limits, "available_bytes", lambda device: 1000)
    with pytest.raises(UserError) as refused:
        limits.check(config, dataset)
    assert str(refused.value).startswith("train_batch_size 10000000000 cannot fit: the run needs at least")
    assert str(refused.value).endswith("lower train_batch_size")
    train_data, valid_data, _ = data_preparation(config, dataset)  # RecBole's split, as the run makes it
    train_rows = len(train_data.dataset)
    assert len(valid_data.dataset) < train_rows  # the larger batch is a training batch, of every training row
    assert scores.setting == "train_batch_size"
    assert scores.what == f"item scores: {train_rows} rows (all the training rows) x 2 intentions x 41 items x 4 bytes"


def test_the_memory_check_counts_the_weights_and_their_optimiser_state(tiny_settings):
    from recbole_disen import limits
    from recbole_disen.runner import build_config, build_dataset

    config = build_config("DisenSeqRec", "tiny", config_dict=tiny_settings)
    weights = next(need for need in limits.estimates(config, build_dataset(config)) if need.what.startswith("weights"))
    # 41 items x D 16, and 1 layer of 4 D x D attention matrices and the D x 32, 32 x D feed-forward ones
    assert 41 * 16 + 1 * (4 * 16 * 16 + 2 * 16 * 32) == 2704
    assert weights == limits.Need("hidden_size", 0, 2704 * 4 * 4,
                                  "weights: 2704 x 4 copies (weight, gradient, Adam's two moments) x 4 bytes")
