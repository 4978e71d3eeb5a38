"""Padding-free batches: the same outputs, losses and futures as RecBole's padded forward."""

import pytest
import torch

from recbole_disen import padding
from recbole_disen.runner import build, build_config, run

NO_DROPOUT = {
    "DisenSeqRec": {"hidden_dropout_prob": 0.0, "attn_dropout_prob": 0.0},
    "SASRec": {"hidden_dropout_prob": 0.0, "attn_dropout_prob": 0.0},
    "GRU4Rec": {"dropout_prob": 0.0},
    "NARM": {"dropout_probs": [0.0, 0.0]},
    "BERT4Rec": {"hidden_dropout_prob": 0.0, "attn_dropout_prob": 0.0},
}


def test_rows_are_cut_per_bucket_and_put_back_in_order():
    calls = []

    def forward(item_seq, item_seq_len, scale):
        calls.append(tuple(item_seq.shape))
        return item_seq.sum(1) * scale, item_seq_len * 10

    lengths = torch.tensor([1, 9, 2, 3, 12, 0])
    item_seq = torch.zeros(6, 12, dtype=torch.long)
    for row, length in enumerate(lengths.tolist()):
        item_seq[row, :length] = torch.arange(1, length + 1) + 100 * row
    sums, tens = padding.bucketed_forward(forward, item_seq, lengths, scale=2)
    # Buckets (edges 2, 4, 6, 8, 12, ...): lengths {1, 2, 0 -> 1 slot}, {3}, {9, 12}, each cut to its longest row.
    assert sorted(calls) == [(1, 3), (2, 12), (3, 2)]
    assert sums.tolist() == [2 * 1, 2 * (45 + 100 * 9), 2 * (3 + 200 * 2), 2 * (6 + 300 * 3), 2 * (78 + 400 * 12), 0]
    assert tens.tolist() == [10, 90, 20, 30, 120, 0]


def test_per_position_outputs_are_cut_per_bucket_and_padded_back_with_zeros():
    calls = []

    def forward(item_seq):  # [b, cut] -> [b, cut, 2]: each slot's item and its position
        calls.append(tuple(item_seq.shape))
        positions = torch.arange(item_seq.size(1)).expand_as(item_seq)
        return torch.stack([item_seq, positions], dim=-1).float()

    item_seq = torch.tensor([[5, 6, 0, 0, 0, 0], [7, 0, 0, 0, 0, 0], [1, 2, 3, 9, 9, 0], [0, 0, 0, 0, 0, 0]])
    out = padding.bucketed_sequence_forward(forward, item_seq)  # [4, 6, 2]
    # lengths 2, 1, 5 and 0 (one slot): buckets {2, 1, 1}, cut to 2 slots, and {5}, cut to 5
    assert sorted(calls) == [(1, 5), (3, 2)]
    assert out[:, :, 0].tolist() == item_seq.tolist()  # every slot's own item, padding slots 0
    assert out[:, :, 1].tolist() == [[0, 1, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0, 1, 2, 3, 4, 0], [0, 1, 0, 0, 0, 0]]


def test_one_full_bucket_is_passed_through_uncut():
    calls = []

    def forward(item_seq, item_seq_len):
        calls.append(item_seq.shape[1])
        return item_seq_len

    padding.bucketed_forward(forward, torch.ones(3, 5, dtype=torch.long), torch.tensor([5, 5, 5]))
    assert calls == [5]


def built(model_name, tiny_settings, **overrides):
    # The tiny training rows are 1 to 9 items long: a maximum of 8 makes some rows as long as it.
    settings = {**tiny_settings, **NO_DROPOUT[model_name], "MAX_ITEM_LIST_LENGTH": 8, **overrides}
    config = build_config(model_name, "tiny", config_dict=settings)
    _, train, _, test, model = build(config)
    return train, test, model.eval()


def padded(model):
    """The model's class forward: RecBole's padded path."""
    return type(model).forward.__get__(model)


def assert_same(a, b):
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        assert x.shape == y.shape and torch.allclose(x, y, atol=1e-5), (x - y).abs().max()


@pytest.mark.parametrize("model_name,overrides", [(name, {}) for name in sorted(padding.EXACT_MODELS)
                                                   if name not in padding.SEQUENCE_OUTPUT_MODELS]
                         + [("DisenSeqRec", {"causal": False})])
def test_eval_outputs_and_training_loss_equal_the_padded_path(model_name, overrides, tiny_settings):
    train, test, model = built(model_name, tiny_settings, **overrides)
    assert model.forward is not padded(model)  # the runner switched it on
    batch = next(iter(train))
    lengths = batch[model.ITEM_SEQ_LEN]
    # The batch mixes a length-1 row, short rows and rows as long as MAX_ITEM_LIST_LENGTH (8).
    assert lengths.min() == 1 and lengths.max() == 8 and len(lengths.unique()) >= 6
    with torch.no_grad():
        assert_same(model.forward(batch[model.ITEM_SEQ], lengths), padded(model)(batch[model.ITEM_SEQ], lengths))
        bucketed_loss = model.calculate_loss(batch)
        full = model.full_sort_predict(next(iter(test))[0])
        del model.forward  # back to the class's padded forward
        assert_same(bucketed_loss, model.calculate_loss(batch))
        assert_same(full, model.full_sort_predict(next(iter(test))[0]))


def loss_and_gradients(model, batch):
    """The training loss (train mode: the models here have no dropout) and every parameter's gradient."""
    model.train()
    model.zero_grad()
    loss = model.calculate_loss(batch)
    loss.backward()
    model.eval()
    return (loss.detach(), *[parameter.grad.clone() for parameter in model.parameters() if parameter.grad is not None])


# ft_ratio 0: RecBole masks a fifth of each row's items; 1: only each row's last item (its fine-tuning samples)
@pytest.mark.parametrize("ft_ratio", [0.0, 1.0])
def test_bert4rec_real_positions_loss_gradients_and_scores_equal_the_padded_path(ft_ratio, tiny_settings):
    train, test, model = built("BERT4Rec", tiny_settings, ft_ratio=ft_ratio)
    assert model.forward is not padded(model)
    batch = next(iter(train))
    masked = batch[model.MASK_ITEM_SEQ]  # [B, L], with mask tokens where the loss looks
    real = masked != 0  # [B, L]: the items and mask tokens, left-aligned
    lengths = real.sum(1)
    assert lengths.min() == 1 and lengths.max() == masked.size(1) and (masked == model.mask_token).any()
    if ft_ratio == 1.0:  # one mask a row, at its last item
        assert ((masked == model.mask_token).sum(1) == 1).all()
        assert (masked.gather(1, (lengths - 1).unsqueeze(1)) == model.mask_token).all()
    with torch.no_grad():
        cut, whole = model.forward(masked), padded(model)(masked)  # [B, L, H] each
        assert_same(cut[real], whole[real])
        differ = (cut - whole).abs().amax(-1) > 1e-5  # [B, L]
        # only padding slots past their bucket's cut differ, and those are 0 (nothing reads them)
        assert differ.any() and not (differ & real).any() and not cut[differ].any()
        full = model.full_sort_predict(next(iter(test))[0])
    bucketed = loss_and_gradients(model, batch)
    del model.forward
    assert_same(bucketed, loss_and_gradients(model, batch))
    with torch.no_grad():
        assert_same(full, model.full_sort_predict(next(iter(test))[0]))


def test_disenseqrec_futures_of_every_length_equal_the_padded_path(tiny_settings):
    # Futures as long as MAX_ITEM_LIST_LENGTH, all rows' futures (lambda 1), the paper's weight.
    train, _, model = built("DisenSeqRec", tiny_settings, future_max_len=None, s2s_weight=1.0, **{"lambda": 1.0})
    batch = next(iter(train))
    with torch.no_grad():
        phi, mass, _ = model.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN])
        bucketed = model.seq2seq_terms(batch, phi, mass)
        future_len = model.future(batch[model.USER_ID], batch["disen_position"])[1]
        assert future_len.min() == 1 and future_len.max() == 8  # a future holds at least the row's target
        del model.forward
        assert_same(bucketed, model.seq2seq_terms(batch, phi, mass))


@pytest.mark.parametrize("model_name,expected", [("SASRec", True), ("BERT4Rec", True), ("Caser", False), ("STAMP", False)])
def test_only_models_where_cutting_is_exact_get_it(model_name, expected, tiny_settings):
    config = build_config(model_name, "tiny", config_dict=tiny_settings)
    model = build(config)[-1]
    assert ("forward" in vars(model)) is expected


def test_the_setting_turns_it_off(tiny_settings):
    model = built("SASRec", tiny_settings, padding_free=False)[-1]
    assert "forward" not in vars(model)


@pytest.mark.parametrize("model_name", ["SASRec", "BERT4Rec"])
def test_a_run_gives_the_padded_runs_metrics(model_name, tiny_settings):
    settings = {**tiny_settings, **NO_DROPOUT[model_name], "epochs": 3}
    on = run(model_name, "tiny", config_dict=settings, saved=False)
    off = run(model_name, "tiny", config_dict={**settings, "padding_free": False}, saved=False)
    assert [h["valid_score"] for h in on["history"]] == pytest.approx([h["valid_score"] for h in off["history"]], abs=1e-4)
    for metric, value in off["test_result"].items():
        assert on["test_result"][metric] == pytest.approx(value, abs=1e-4), metric
    assert off["test_result"]["ndcg@10"] > 0
