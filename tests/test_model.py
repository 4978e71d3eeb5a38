"""DisenSeqRec wired together: gradients, scoring consistency, numerics."""

import pytest
import torch

from recbole_disen.future import FUTURE_POSITION_FIELD
from recbole_disen.runner import build, build_config


def built_model(tiny_settings, **overrides):
    config = build_config("DisenSeqRec", "tiny", config_dict={**tiny_settings, **overrides})
    _, train, _, test, model = build(config)
    return train, test, model


def test_shared_bias_means_one_bias_for_both_sides(tiny_settings):
    train, _, model = built_model(tiny_settings, s2s_weight=1.0, share_bias=True)
    sum(model.calculate_loss(next(iter(train)))).backward()
    assert model.intention.bias.grad[1].abs().sum() == 0 and model.intention.bias.grad[0].abs().sum() > 0


def test_the_projection_head_exists_only_with_the_seq2seq_term(tiny_settings):
    def count(**overrides):
        return sum(parameter.numel() for parameter in built_model(tiny_settings, **overrides)[2].parameters())

    hidden = tiny_settings["hidden_size"]
    head = 2 * (hidden * hidden + hidden)  # two Linear(hidden, hidden) layers
    assert count(s2s_weight=0.0, s2s_projection=True) == count(s2s_weight=0.0)  # the term off: no head
    assert count(s2s_weight=1.0, s2s_projection=True) == count(s2s_weight=1.0) + head


def test_every_parameter_gets_a_gradient(tiny_settings):
    train, _, model = built_model(tiny_settings, s2s_weight=1.0, s2s_projection=True)
    seq2item, seq2seq = model.calculate_loss(next(iter(train)))
    (seq2item + seq2seq).backward()
    assert seq2seq.item() > 0
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_mass_mask_trains_every_parameter(tiny_settings):
    train, _, model = built_model(tiny_settings, s2s_weight=1.0, s2s_mask="mass")
    batch = next(iter(train))
    with torch.no_grad():
        phi, mass, _ = model.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN])
    seq2item, seq2seq = model.calculate_loss(batch)
    (seq2item + seq2seq).backward()
    assert seq2seq.item() > 0 and torch.allclose(mass.sum(-1), torch.ones(len(mass)))
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_weight_zero_encodes_no_future(tiny_settings, monkeypatch):
    train, _, model = built_model(tiny_settings, s2s_weight=0.0)
    monkeypatch.setattr(model.future, "forward", lambda *a: pytest.fail("the future was encoded"))
    seq2item, seq2seq = model.calculate_loss(next(iter(train)))
    assert seq2seq.item() == 0.0 and torch.isfinite(seq2item)


@pytest.mark.parametrize("overrides", [
    {"score_last": False}, {"score_last": True},
    {"score_last": False, "aggregation": "logsumexp"}, {"score_last": True, "aggregation": "logsumexp"},
])
def test_predict_equals_full_sort_predict_at_the_test_items(tiny_settings, overrides):
    _, test, model = built_model(tiny_settings, **overrides)
    model.eval()
    interaction = next(iter(test))[0]
    with torch.no_grad():
        full = model.full_sort_predict(interaction)
        single = model.predict(interaction)
    items = interaction["item_id"]
    assert torch.allclose(full[torch.arange(len(items)), items], single, atol=1e-5)


@pytest.mark.parametrize("overrides", [
    {"n_intents": 1}, {"lambda": 1.0}, {"s2s_warmup_steps": 3}, {"future_max_len": 1},
    {"s2s_symmetric": True, "share_bias": True},
    {"s2s_mask": "mass"},
    {"s2s_same_user_negatives": False},
    {"MAX_ITEM_LIST_LENGTH": 3},  # sequences longer than the maximum length
])
def test_losses_and_scores_stay_finite(tiny_settings, overrides):
    train, test, model = built_model(tiny_settings, s2s_weight=1.0, **overrides)
    for batch in train:
        seq2item, seq2seq = model.calculate_loss(batch)
        assert torch.isfinite(seq2item) and torch.isfinite(seq2seq)
        assert seq2item > 0 and seq2seq >= 0  # a cross-entropy and a weighted InfoNCE mean
    scores = model.full_sort_predict(next(iter(test))[0])[:, 1:]  # [B, N - 1]
    assert torch.isfinite(scores).all() and (scores.std(dim=1) > 0).all()  # each row ranks the items


def test_length_one_sequences_and_a_batch_without_futures(tiny_settings):
    train, _, model = built_model(tiny_settings, s2s_weight=1.0)
    batch = next(iter(train))
    first_rows = batch[batch["item_length"] == 1]
    assert len(first_rows) > 0 and all(torch.isfinite(l) for l in model.calculate_loss(first_rows))
    no_future = batch[:4]
    no_future.update(type(batch)({FUTURE_POSITION_FIELD: model.future.end[no_future["user_id"]] + 1}))
    seq2item, seq2seq = model.calculate_loss(no_future)
    assert seq2seq.item() == 0.0 and torch.isfinite(seq2item)


def test_warmup_ramps_the_weight(tiny_settings):
    _, _, model = built_model(tiny_settings, s2s_weight=2.0, s2s_warmup_steps=4)
    model.train_steps.fill_(1)
    assert model.seq2seq_weight().item() == pytest.approx(0.5)
    model.train_steps.fill_(10)
    assert model.seq2seq_weight().item() == pytest.approx(2.0)


def test_same_user_rows_are_left_out_of_the_negatives(tiny_settings):
    train, _, model = built_model(tiny_settings, s2s_weight=1.0, s2s_same_user_negatives=False)
    model.eval()  # no dropout: both calls encode the same futures
    batch = next(iter(train))
    assert len(batch["user_id"].unique()) < len(batch)  # the batch holds several rows of a user
    with torch.no_grad():
        phi, mass, _ = model.forward(batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN])
        without = model.seq2seq_terms(batch, phi, mass)[0]
        model.s2s_same_user_negatives = True
        with_them = model.seq2seq_terms(batch, phi, mass)[0]
    # Fewer negatives can only lower each InfoNCE loss; rows whose user has other rows get strictly lower.
    assert (without <= with_them + 1e-6).all() and (without < with_them - 1e-6).any()


def test_the_intention_projection_adds_one_map_that_starts_as_the_identity_and_trains(tiny_settings):
    hidden = tiny_settings["hidden_size"]
    train, _, model = built_model(tiny_settings, intent_projection=True)
    plain = built_model(tiny_settings)[2]
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in plain.parameters()) + hidden * hidden
    assert torch.equal(model.intention.value, torch.eye(hidden))  # the model's initialisation leaves it alone
    seq2item, _ = model.calculate_loss(next(iter(train)))
    seq2item.backward()
    assert model.intention.value.grad.abs().sum() > 0
