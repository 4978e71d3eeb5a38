"""Tests of the intentions' read-out (``intentions``): values by hand on a 2-dimensional model with fixed
weights, and the item names.

The hand-built model: hidden size 2, K = 2, tau = 0.1, the encoder replaced by the item embedding
(z_i = e_{x_i}), prototypes c_0 = (1, 0) and c_1 = (0, 1), and the attention's W, b, alpha, b', beta all 0.
Items: e_i1 = (1, 0), e_i2 = (0, 1), e_i3 = (0.6, -0.3), e_i4 = (-2, 0.5). A LayerNorm of a 2-vector
(a, b) is (1, -1) when a > b and (-1, 1) when a < b, so by the layer's documented equations, on the
history (i1, i2):

    p(k|i1) = softmax(10, 0) = (s, 1 - s),  p(k|i2) = (1 - s, s),  s = sigmoid(10)
    keys: LN(e_i1) = (1, -1), LN(e_i2) = (-1, 1); query LN(e_i2) = (-1, 1); scores -/+ 2 / sqrt(2)
    p = (sigmoid(-2 sqrt 2), sigmoid(2 sqrt 2))
    m_0 = s p_1 + (1 - s) p_2,  m_1 = 1 - m_0
    phi_0 = LN(s p_1 e_i1 + (1 - s) p_2 e_i2) = (1, -1), phi_1 = (-1, 1)
    <phi_0, e>: i1 1, i2 -1, i3 0.9, i4 -2.5;   <phi_1, e>: i1 -1, i2 1, i3 -0.9, i4 2.5
    score (max over k, plus <z_t, e> with z_t = e_i2): i1 1, i2 2, i3 0.6, i4 3
    top 3: i4 (best intention 1), i2 (1), i1 (0)  ->  wins (1/3, 2/3)
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from conftest import TINY, write_inter
from recbole_disen import intentions, item_names, runner
from recbole_disen.errors import UserError

EMBEDDINGS = {"i1": (1.0, 0.0), "i2": (0.0, 1.0), "i3": (0.6, -0.3), "i4": (-2.0, 0.5)}
# Both test rows read (i1, i2): the last 2 items before each user's last one.
SEQUENCES = {"u1": ["i3", "i1", "i2", "i4"], "u2": ["i4", "i1", "i2", "i3"]}


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


class Lookup(nn.Module):
    """An encoder whose z_i is the item's embedding: the intention layer's input is then known exactly."""

    def __init__(self, item_embedding):
        super().__init__()
        self.item_embedding = item_embedding

    def forward(self, item_seq):
        return self.item_embedding(item_seq)  # [B, L, H]


@pytest.fixture(scope="module")
def hand_model(tmp_path_factory):
    """(dataset, model, test_data) of the hand-built DisenSeqRec described above."""
    folder = tmp_path_factory.mktemp("hand")
    write_inter(folder / "data", "hand", SEQUENCES)
    settings = {**TINY, "hidden_size": 2, "inner_size": 4, "n_intents": 2, "intent_temperature": 0.1,
                "MAX_ITEM_LIST_LENGTH": 2, "data_path": str(folder / "data"),
                "checkpoint_dir": str(folder / "saved")}
    config = runner.build_config("DisenSeqRec", "hand", config_dict=settings)
    dataset, _, _, test_data, model = runner.build(config)
    token2id = dataset.field2token_id[dataset.iid_field]
    with torch.no_grad():
        model.item_embedding.weight.zero_()
        for item, vector in EMBEDDINGS.items():
            model.item_embedding.weight[token2id[item]] = torch.tensor(vector)
        layer = model.intention
        layer.prototypes.copy_(torch.eye(2))
        for parameter in (layer.position, layer.key_transform.weight, layer.key_transform.bias,
                          layer.query_bias, layer.bias):
            parameter.zero_()
    model.encoder = Lookup(model.item_embedding)
    model.eval()
    return dataset, model, test_data


def sequence(dataset, items):
    """item_seq [1, L] and item_seq_len [1] of raw item ids."""
    token2id = dataset.field2token_id[dataset.iid_field]
    return torch.tensor([[token2id[item] for item in items]]), torch.tensor([len(items)])


def test_explain_sequence_by_hand(hand_model):
    dataset, model, _ = hand_model
    item_seq, item_seq_len = sequence(dataset, ["i1", "i2"])
    assignment, importance, mass, top, top_scores = intentions.explain_sequence(model, item_seq, item_seq_len, 2)
    s, p_last = sigmoid(10), sigmoid(2 * math.sqrt(2))
    assert assignment[0].numpy() == pytest.approx(np.array([[s, 1 - s], [1 - s, s]]), abs=1e-6)
    assert importance[0].tolist() == pytest.approx([1 - p_last, p_last], abs=1e-6)
    m0 = s * (1 - p_last) + (1 - s) * p_last
    assert mass[0].tolist() == pytest.approx([m0, 1 - m0], abs=1e-6)
    assert [intentions.raw_items(dataset, row) for row in top[0]] == [["i1", "i3"], ["i4", "i2"]]
    assert top_scores[0].numpy() == pytest.approx(np.array([[1.0, 0.9], [2.5, 1.0]]), abs=1e-4)


def test_user_reads_the_whole_known_sequence_by_hand(hand_model):
    """u1's whole sequence ends (i2, i4): keys and query are all LN(.) = (-1, 1), so p = (1/2, 1/2)."""
    dataset, model, test_data = hand_model
    user = intentions.user_intentions(model, dataset, test_data, "u1", top_n=2)
    assert user.user == "u1" and user.items == ["i2", "i4"]
    p0_i4 = sigmoid((-2 - 0.5) / math.sqrt(4.25) / 0.1)  # softmax of cos(e_i4, c_k) / tau
    s = sigmoid(10)
    assert user.assignment == pytest.approx(np.array([[1 - s, s], [p0_i4, 1 - p0_i4]]), abs=1e-6)
    assert user.importance.tolist() == pytest.approx([0.5, 0.5], abs=1e-6)
    assert user.mass.tolist() == pytest.approx([0.5 * (1 - s) + 0.5 * p0_i4, 0.5 * s + 0.5 * (1 - p0_i4)], abs=1e-6)
    # Both intentions point along (-1, 1) here (intention 0 holds almost nothing): i4 2.5, then i2 1.
    assert [[item for item, _ in items] for items in user.top_items] == [["i4", "i2"], ["i4", "i2"]]
    assert [score for _, score in user.top_items[1]] == pytest.approx([2.5, 1.0], abs=1e-4)


def test_dataset_mass_and_wins_by_hand(hand_model):
    _, model, test_data = hand_model
    summary = intentions.dataset_intentions(model, test_data, k=3)
    s, p_last = sigmoid(10), sigmoid(2 * math.sqrt(2))
    m0 = s * (1 - p_last) + (1 - s) * p_last
    assert summary.rows == 2 and summary.k == 3
    assert summary.mass.tolist() == pytest.approx([m0, 1 - m0], abs=1e-6)
    assert summary.wins.tolist() == pytest.approx([1 / 3, 2 / 3], abs=1e-12)
    # A top list of the whole catalogue: 4 items, 2 of each intention.
    whole = intentions.dataset_intentions(model, test_data, k=4)
    assert whole.k == 4 and whole.wins.tolist() == pytest.approx([0.5, 0.5], abs=1e-12)


def test_bad_arguments_are_user_errors(hand_model):
    dataset, model, test_data = hand_model
    with pytest.raises(UserError, match=r"unknown user id\(s\) 'u9'"):
        intentions.user_intentions(model, dataset, test_data, "u9", top_n=2)
    for top_n in (0, 5):  # 4 items
        with pytest.raises(UserError, match=rf"^--top must be from 1 to 4 \(the items of hand\), got {top_n}$"):
            intentions.user_intentions(model, dataset, test_data, "u1", top_n=top_n)
    for k in (0, 5):
        with pytest.raises(UserError, match=rf"^--k must be from 1 to 4 \(the items of hand\), got {k}$"):
            intentions.dataset_intentions(model, test_data, k=k)
    with pytest.raises(UserError, match="need a DisenSeqRec checkpoint; this one holds Linear"):
        intentions.require_disen(nn.Linear(2, 2))


def names_config(folder, header, rows):
    """The settings item_names.read uses, for a dataset 'toy' whose .item file has ``header`` and ``rows``."""
    (folder / "toy").mkdir(parents=True)
    lines = ["\t".join(header)] + ["\t".join(row) for row in rows]
    (folder / "toy" / "toy.item").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"data_path": str(folder / "toy"), "dataset": "toy", "field_separator": "\t", "encoding": "utf-8",
            "ITEM_ID_FIELD": "item_id"}


def test_names_come_from_the_first_title_or_name_column(tmp_path):
    config = names_config(
        tmp_path, ["release_year:token", "item_id:token", "movie_title:token_seq", "class:token_seq"],
        [["1995", "1", "Toy Story", "Animation"], ["1995", "2", "", "Action"], ["1996", "3", "Heat (1995)", "Drama"],
         ["1997", "4"]],
    )
    assert item_names.read(config) == {"1": "Toy Story", "3": "Heat (1995)"}
    assert item_names.read(config, wanted=["3", "9"]) == {"3": "Heat (1995)"}
    names = item_names.read(config)
    assert item_names.label("1", names) == '1 "Toy Story"' and item_names.label("2", names) == "2"
    assert item_names.label("3", names, width=6) == '3 "Heat…"'


def test_no_item_file_or_no_name_column_means_no_names(tmp_path):
    assert item_names.read({"data_path": str(tmp_path), "dataset": "none", "field_separator": "\t",
                            "encoding": "utf-8", "ITEM_ID_FIELD": "item_id"}) == {}
    config = names_config(tmp_path, ["item_id:token", "price:float"], [["1", "9.5"]])
    assert item_names.read(config) == {}


def test_assignment_rows_are_distributions_on_real_histories(hand_model):
    """Every row of p(k|i) sums to 1 and p_i is 0 on padding, whatever the history."""
    dataset, model, _ = hand_model
    item_seq, item_seq_len = sequence(dataset, ["i3", "i4"])
    item_seq = torch.cat([item_seq[:, :1], torch.zeros_like(item_seq[:, :1])], dim=1)  # (i3, padding)
    assignment, importance, mass, _, _ = intentions.explain_sequence(model, item_seq, torch.tensor([1]), 3)
    assert np.allclose(assignment.sum(-1).numpy(), 1.0)
    assert importance[0].tolist() == pytest.approx([1.0, 0.0])
    assert mass[0].tolist() == pytest.approx(assignment[0, 0].tolist(), abs=1e-6)
