"""Tests of ``recbole-disen recommend``: loading a checkpoint safely, histories, top-k, the CLI."""

import math
import os
import pickle
import random
import re
import shutil

import pytest
import torch

from conftest import TINY, tiny_sequences, write_inter
from recbole_disen import checkpoint, cli, recommend
from recbole_disen.config import PICKLE_SETTINGS
from recbole_disen.errors import UserError
from recbole_disen.runner import run

LINE = re.compile(r"^  (\d+)\. item (\S+)  score (-?\d+\.\d{4})(  intention (\d+))?$")


def train(model, folder):
    """(runner result, data folder) of one tiny 1-epoch run writing under ``folder``."""
    write_inter(folder / "data", "tiny", tiny_sequences())
    settings = {**TINY, "epochs": 1, "data_path": str(folder / "data"), "checkpoint_dir": str(folder / "saved")}
    return run(model, "tiny", config_dict=settings), folder / "data"


@pytest.fixture(scope="module")
def disen(tmp_path_factory):
    """(run result, data folder) of a tiny trained DisenSeqRec, shared by the tests of this file."""
    return train("DisenSeqRec", tmp_path_factory.mktemp("disen"))


@pytest.fixture(scope="module")
def loaded(disen):
    """load_model's (config, dataset, model, test_data) for the DisenSeqRec checkpoint."""
    return recommend.load_model(disen[0]["checkpoint"])


class WritesFile:
    """Unpickling this would create ``path``: a stand-in for a checkpoint that runs code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return open, (self.path, "w")


def test_load_model_restores_weights_settings_and_split(disen, loaded):
    result, _ = disen
    config, _, model, test_data = loaded
    stored = checkpoint.load(result["checkpoint"])
    state = model.state_dict()
    assert state.keys() == stored["state_dict"].keys()
    assert all(torch.equal(state[name], tensor) for name, tensor in stored["state_dict"].items())
    assert not model.training
    rebuilt = checkpoint.plain(config.final_config_dict)
    assert {k: v for k, v in rebuilt.items() if k not in PICKLE_SETTINGS} == {
        k: v for k, v in stored["config"].items() if k not in PICKLE_SETTINGS
    }
    # Same split and same scores: the test NDCG@10 of the run comes out again.
    ndcg = []
    with torch.no_grad():
        for interaction, _, _, positive_i in test_data:
            scores = model.full_sort_predict(interaction)
            scores[:, 0] = -torch.inf
            rank = (scores > scores.gather(1, positive_i.unsqueeze(1))).sum(1)
            ndcg += [1 / math.log2(r + 2) if r < 10 else 0.0 for r in rank.tolist()]
    assert sum(ndcg) / len(ndcg) == pytest.approx(result["test_result"]["ndcg@10"], abs=1e-4)


def test_history_is_each_users_whole_sequence(loaded):
    config, dataset, model, test_data = loaded
    sequences = tiny_sequences()
    users = list(sequences)
    interaction = recommend.history_batch(model, test_data, recommend.internal_user_ids(dataset, users), users)
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    for row, user in enumerate(users):
        expected = sequences[user][-max_len:]
        length = int(interaction[model.ITEM_SEQ_LEN][row])
        seq = interaction[model.ITEM_SEQ][row]
        assert length == len(expected)
        assert dataset.id2token(dataset.iid_field, seq[:length]).tolist() == expected
        assert not seq[length:].any()


def test_a_horizon_models_history_holds_the_whole_test_horizon(tmp_path):
    from recbole_disen.runner import build, build_config

    write_inter(tmp_path, "tiny", tiny_sequences())
    settings = {**TINY, "data_path": str(tmp_path), "horizon": 3, "valid_metric": "horizon_ndcg@10",
                "MAX_ITEM_LIST_LENGTH": 4, "checkpoint_dir": str(tmp_path / "saved")}
    dataset, _, _, test_data, model = build(build_config("DisenSeqRec", "tiny", config_dict=settings))
    users = [user for user, items in tiny_sequences().items() if len(items) >= 8][:3]  # long enough for horizon 3
    interaction = recommend.history_batch(model, test_data, recommend.internal_user_ids(dataset, users), users)
    for row, user in enumerate(users):
        length = int(interaction[model.ITEM_SEQ_LEN][row])
        seq = interaction[model.ITEM_SEQ][row, :length]
        assert dataset.id2token(dataset.iid_field, seq).tolist() == tiny_sequences()[user][-4:]


def test_append_target_keeps_the_last_items():
    item_seq = torch.tensor([[1, 2, 0], [1, 2, 3], [0, 0, 0]])
    seq, length = recommend.append_target(item_seq, torch.tensor([2, 3, 0]), torch.tensor([7, 8, 9]))
    assert seq.tolist() == [[1, 2, 7], [2, 3, 8], [9, 0, 0]]
    assert length.tolist() == [3, 3, 1]


def test_restore_settings_converts_what_recbole_refuses():
    stored = {"data_path": "/data/tiny", "dataset": "tiny", "model": "DisenSeqRec", "local_rank": 0,
              "MODEL_TYPE": "SEQUENTIAL", "hidden_size": 16, "gpu_id": "0", "dataset_save_path": "x.pth",
              "train_neg_sample_args": {"distribution": "none", "sample_num": "none"}}
    settings = recommend.restore_settings(stored)
    assert settings["data_path"] == "/data" and settings["hidden_size"] == 16 and settings["gpu_id"] == ""
    assert settings["train_neg_sample_args"] is None and settings["dataset_save_path"] is None
    assert not {"local_rank", "MODEL_TYPE", "model", "dataset"} & settings.keys()
    assert recommend.restore_settings(stored, data_path="/elsewhere")["data_path"] == "/elsewhere"

def test_restore_settings_reads_a_relative_data_path_where_the_data_is(tmp_path):
    stored = {"data_path": os.path.join("data", "tiny"), "dataset": "tiny", "model": "SASRec"}
    (tmp_path / "data" / "tiny").mkdir(parents=True)
    recorded = str(tmp_path / "data" / "tiny")
    # the data record's absolute folder while it is there, wherever recommend runs
    assert recommend.restore_settings(stored, trained_on=recorded)["data_path"] == str(tmp_path / "data")
    assert recommend.restore_settings(stored, data_path="/mine", trained_on=recorded)["data_path"] == "/mine"
    # gone (the project moved with its data), or a link's target of another name: the stored path
    assert recommend.restore_settings(stored, trained_on="/gone/data/tiny")["data_path"] == "data"
    (tmp_path / "store" / "tiny-v2").mkdir(parents=True)
    assert recommend.restore_settings(stored, trained_on=str(tmp_path / "store" / "tiny-v2"))["data_path"] == "data"
    sampled = {**stored, "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1}}
    assert recommend.restore_settings(sampled)["train_neg_sample_args"] == sampled["train_neg_sample_args"]


def test_recommend_gives_k_distinct_known_items_with_intentions(loaded):
    config, dataset, model, test_data = loaded
    known_items = {item for items in tiny_sequences().values() for item in items}
    recommendations = recommend.recommend(model, dataset, test_data, ["u3", "u1"], k=5)
    assert [user for user, _ in recommendations] == ["u3", "u1"]
    for _, items in recommendations:
        names = [item for item, _, _ in items]
        scores = [score for _, score, _ in items]
        assert len(set(names)) == 5 and set(names) <= known_items
        assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)
        assert all(0 <= intention < config["n_intents"] for _, _, intention in items)


def test_recommendations_are_the_models_top_k_from_the_whole_history(loaded):
    config, dataset, model, test_data = loaded
    history = tiny_sequences()["u3"][-config["MAX_ITEM_LIST_LENGTH"]:]  # test input and test target, by hand
    ids = torch.tensor([dataset.token2id(dataset.iid_field, history)])  # [1, L]
    assert config["aggregation"] == "max" and config["score_last"]
    with torch.no_grad():  # the method's score: s_j = max_k <phi_k, e_j> + <z_t, e_j>
        phi, _, last = model.forward(ids, torch.tensor([ids.shape[1]]))  # [1, K, H], [1, H]
        embeddings = model.item_embedding.weight  # [n_items, H]
        scores = (phi[0] @ embeddings.T).max(0).values + last[0] @ embeddings.T  # [n_items]
    scores[0] = -torch.inf
    expected = torch.topk(scores, 5)
    [(_, items)] = recommend.recommend(model, dataset, test_data, ["u3"], k=5)
    assert [item for item, _, _ in items] == list(dataset.id2token(dataset.iid_field, expected.indices.numpy()))
    assert [score for _, score, _ in items] == pytest.approx(expected.values.tolist(), abs=1e-5)
    with torch.no_grad():  # the intention named is the one whose <phi_k, e_item> is the largest
        per_intention = phi[0] @ model.item_embedding(expected.indices).T  # [K, 5]
    assert [intention for _, _, intention in items] == per_intention.argmax(0).tolist()


def test_one_user_and_one_item_is_still_a_list(loaded):
    _, dataset, model, test_data = loaded
    full = recommend.recommend(model, dataset, test_data, ["u2"], k=3)
    [(user, items)] = recommend.recommend(model, dataset, test_data, ["u2"], k=1)
    assert user == "u2" and items == full[0][1][:1]


def test_k_runs_from_one_to_the_number_of_items(loaded, capsys):
    _, dataset, model, test_data = loaded
    known_items = {item for items in tiny_sequences().values() for item in items}
    [(_, items)] = recommend.recommend(model, dataset, test_data, ["u2"], k=len(known_items))  # every item, once
    assert {item for item, _, _ in items} == known_items
    for k in (0, len(known_items) + 1):
        with pytest.raises(UserError, match=rf"^--k must be from 1 to {len(known_items)} \(the items of tiny\), got {k}$"):
            recommend.recommend(model, dataset, test_data, ["u2"], k=k)


def test_recommend_rejects_unknown_users(loaded):
    _, dataset, model, test_data = loaded
    with pytest.raises(UserError, match=r"unknown user id\(s\) 'nobody', '\[PAD\]'.*tiny's \.inter file"):
        recommend.recommend(model, dataset, test_data, ["u1", "nobody", "[PAD]"])


def test_cli_prints_ranked_items_and_reads_moved_data(disen, tmp_path, capsys):
    result, data = disen
    shutil.copytree(data, tmp_path / "moved")
    args = ["recommend", result["checkpoint"], "--users", "u2,u5", "--k", "3", "--data_path", str(tmp_path / "moved")]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [lines[0], lines[4]] == ["user u2", "user u5"] and len(lines) == 8
    matches = [LINE.match(line) for line in lines[1:4] + lines[5:8]]
    assert all(matches) and [int(m.group(1)) for m in matches] == [1, 2, 3, 1, 2, 3]
    assert all(m.group(5) is not None for m in matches)


def test_a_checkpoint_trained_from_a_relative_data_path_is_read_from_another_folder(tmp_path, monkeypatch, capsys):
    write_inter(tmp_path / "project" / "data", "tiny", tiny_sequences())
    monkeypatch.chdir(tmp_path / "project")
    result = run("SASRec", "tiny", config_dict={**TINY, "epochs": 1, "data_path": "data", "checkpoint_dir": "saved"})
    assert result["config"]["data_path"] == os.path.join("data", "tiny")  # relative to the project folder
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main(["recommend", str(tmp_path / "project" / result["checkpoint"]), "--users", "u2", "--k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "user u2" and [int(LINE.match(line).group(1)) for line in lines[1:]] == [1, 2]


def test_cli_lists_a_user_given_twice_once(disen, capsys):
    assert cli.main(["recommend", disen[0]["checkpoint"], "--users", "u2,u5,u2", "--k", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("user ")] == ["user u2", "user u5"] and len(lines) == 4


def test_cli_unknown_user_is_one_error_line(disen, capsys):
    assert cli.main(["recommend", disen[0]["checkpoint"], "--users", "nobody"]) == 2
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "'nobody'" in errors[0]
    assert "Traceback" not in captured.err and captured.out == ""


@pytest.mark.parametrize("kind", ["random", "pickle", "torch", "foreign", "missing"])
def test_not_a_checkpoint_is_refused_without_running_code(tmp_path, capsys, kind):
    path, marker = tmp_path / "model.pth", tmp_path / "code-ran"
    if kind == "random":
        path.write_bytes(os.urandom(512))
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"format": checkpoint.FORMAT, "config": WritesFile(str(marker))}))
    elif kind == "torch":
        torch.save({"format": checkpoint.FORMAT, "config": WritesFile(str(marker))}, path)
    elif kind == "foreign":
        torch.save({"weights": torch.ones(2)}, path)
    with pytest.raises(UserError, match=f"^cannot load checkpoint {re.escape(str(path))}: "):
        recommend.load_model(str(path))
    assert cli.main(["recommend", str(path), "--users", "u1"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot load checkpoint")
    assert not marker.exists()


def test_corrupt_files_of_every_kind_are_one_line_errors(tmp_path):
    """Random bytes make torch's unpickler raise UnpicklingError, IndexError, KeyError or
    UnicodeDecodeError depending on the bytes; 300 fixed seeds cover all four."""
    path = tmp_path / "model.pth"
    for seed in range(300):
        rng = random.Random(seed)
        path.write_bytes(bytes(rng.getrandbits(8) for _ in range(512)))
        with pytest.raises(UserError, match="^cannot load checkpoint "):
            checkpoint.read(str(path))


def test_sasrec_checkpoint_recommends_without_intentions(tmp_path, capsys):
    result, _ = train("SASRec", tmp_path)
    _, dataset, model, test_data = recommend.load_model(result["checkpoint"])
    ((user, items),) = recommend.recommend(model, dataset, test_data, ["u4"], k=4)
    assert user == "u4" and len({item for item, _, _ in items}) == 4
    assert all(intention is None for _, _, intention in items)
    assert cli.main(["recommend", result["checkpoint"], "--users", "u4", "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("user u4\n  1. item ") and "intention" not in out


def test_other_data_at_data_path_is_refused(disen, tmp_path, capsys):
    result, _ = disen
    sequences = tiny_sequences()
    sequences["u1"] = list(reversed(sequences["u1"]))  # same users, items and sizes; one user's order differs
    write_inter(tmp_path / "other", "tiny", sequences)
    assert cli.main(["recommend", result["checkpoint"], "--users", "u1", "--data_path", str(tmp_path / "other")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: recommend: {result['checkpoint']} was trained on other data than {tmp_path / 'other' / 'tiny'} "
        "(same sizes, other contents): use the data it was trained on"
    ]


@pytest.mark.parametrize("score, text", [
    (2.19191, "2.1919"), (-0.5, "-0.5000"), (0.001, "0.0010"), (0.0, "0.0000"),
    (0.0000123456, "1.235e-05"), (-0.00098765, "-9.877e-04"),
])
def test_small_scores_keep_their_digits(score, text):
    assert recommend.score_text(score) == text
    # two items that 4 decimals would print alike stay apart
    assert recommend.score_text(1.2e-5) != recommend.score_text(1.3e-5)


def test_weights_that_do_not_fit_are_one_short_line():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    other = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)).state_dict()  # 0.bias alone fits
    with pytest.raises(UserError) as caught:
        recommend._load_weights(model, other, "m.pth")
    message = str(caught.value)
    assert message.startswith("cannot load checkpoint m.pth: its weights do not fit the model rebuilt from its "
                              "settings and data (is --data_path the data it was trained on?): size mismatch for 0.weight")
    assert message.endswith(" (and 2 more)") and "\n" not in message and len(message) < 400


class FakeSplit:
    """A test split's columns as last_rows reads them: users 1 and 3 have rows, user 2 has none."""

    def __init__(self, horizon):
        self.uid_field, self.user_num, self.config = "user_id", 4, {"horizon": horizon}
        self.inter_feat = {"user_id": torch.tensor([1, 3, 1])}


@pytest.mark.parametrize(("horizon", "why"), [
    (0, "too few interactions to have a test row"),
    (3, "the model was trained under horizon 3, which drops the users with fewer than 8 interactions"),
])
def test_a_user_without_a_test_row_is_named_once_with_the_reason(horizon, why):
    assert recommend.last_rows(FakeSplit(horizon), torch.tensor([3, 1]), ["c", "a"]).tolist() == [1, 2]
    with pytest.raises(UserError) as caught:
        recommend.last_rows(FakeSplit(horizon), torch.tensor([2, 1, 2]), ["b", "a", "b"])
    assert str(caught.value) == f"user id(s) 'b': {why}, so the model has no test row of theirs to start from"
