"""The encoder and the intention layer alone."""

import torch

from recbole_disen.modules import IntentionLayer, SequenceEncoder


def make_layer(k=3, h=8, max_len=6):
    torch.manual_seed(0)
    return IntentionLayer(hidden_size=h, n_intents=k, max_len=max_len, temperature=0.1, layer_norm_eps=1e-12)


def test_assignment_rows_are_distributions():
    layer = make_layer()
    p = layer.assignment(torch.randn(2, 5, 8))
    assert p.shape == (2, 5, 3)
    assert torch.allclose(p.sum(-1), torch.ones(2, 5)) and (p >= 0).all()


def test_importance_is_zero_on_padding_and_sums_to_one():
    layer = make_layer()
    p = layer.importance(torch.randn(3, 5, 8), torch.tensor([5, 2, 1]))
    assert torch.allclose(p.sum(-1), torch.ones(3))
    assert (p[1, 2:] == 0).all() and (p[2, 1:] == 0).all()
    assert p[2, 0].item() == 1.0


def test_padding_content_changes_nothing():
    layer = make_layer()
    z = torch.randn(2, 5, 8)
    length = torch.tensor([3, 5])
    noisy = z.clone()
    noisy[0, 3:] = 100 * torch.randn(2, 8)
    phi, mass = layer(z, length)
    phi_noisy, mass_noisy = layer(noisy, length)
    assert torch.equal(phi, phi_noisy) and torch.equal(mass, mass_noisy)


def test_empty_sequence_gives_the_bias_alone():
    layer = make_layer(k=2)
    with torch.no_grad():  # beta_k of the future side: means 2 and 2, standard deviations 1 and 2
        layer.bias[IntentionLayer.FUTURE] = torch.tensor([[3.0, 1, 3, 1, 3, 1, 3, 1], [0, 0, 0, 0, 4, 4, 4, 4]])
    phi, mass = layer(torch.randn(1, 4, 8), torch.tensor([0]), IntentionLayer.FUTURE)
    assert (mass == 0).all()
    # LN(beta_k) by hand: (beta_k - mean) / std, the LayerNorm's weight 1 and bias 0 as initialised
    expected = torch.tensor([[1.0, -1, 1, -1, 1, -1, 1, -1], [-1, -1, -1, -1, 1, 1, 1, 1]])
    assert torch.allclose(phi[0], expected, atol=1e-6)


def test_sides_use_different_biases():
    layer = make_layer()
    z, length = torch.randn(2, 4, 8), torch.tensor([4, 2])
    assert not torch.allclose(layer(z, length, IntentionLayer.EARLIER)[0], layer(z, length, IntentionLayer.FUTURE)[0])


def test_mass_is_a_distribution_over_intentions():
    layer = make_layer()
    z, length = torch.randn(2, 5, 8), torch.tensor([5, 2])
    _, mass = layer(z, length)
    assert torch.allclose(mass.sum(-1), torch.ones(2)) and (mass >= 0).all()


def test_encoder_is_causal_and_ignores_padding_length():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(10, 8, padding_idx=0)
    enc = SequenceEncoder(
        item_embedding=emb, max_len=8, n_layers=2, n_heads=1, hidden_size=8, inner_size=16,
        hidden_dropout_prob=0.0, attn_dropout_prob=0.0, hidden_act="gelu", layer_norm_eps=1e-12,
    ).eval()
    short = enc(torch.tensor([[3, 4, 5, 0]]))
    long = enc(torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]]))
    assert torch.allclose(short[:, :3], long[:, :3], atol=1e-6)
    changed_future = enc(torch.tensor([[3, 4, 7, 0]]))
    assert torch.allclose(short[:, :2], changed_future[:, :2], atol=1e-6)  # position 2 does not leak back


def test_attention_mask_by_hand():
    from recbole_disen.modules.encoder import attention_mask

    seq = torch.tensor([[3, 4, 0]])
    causal, full = attention_mask(seq, causal=True)[0, 0], attention_mask(seq, causal=False)[0, 0]
    blocked = -10000.0
    assert causal.tolist() == [[0.0, blocked, blocked], [0.0, 0.0, blocked], [0.0, 0.0, blocked]]
    assert full.tolist() == [[0.0, 0.0, blocked]] * 3  # every position sees both real items, never padding


def test_bidirectional_encoder_lets_early_positions_see_later_items_but_not_padding():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(10, 8, padding_idx=0)
    enc = SequenceEncoder(
        item_embedding=emb, max_len=8, n_layers=2, n_heads=1, hidden_size=8, inner_size=16,
        hidden_dropout_prob=0.0, attn_dropout_prob=0.0, hidden_act="gelu", layer_norm_eps=1e-12, causal=False,
    ).eval()
    short = enc(torch.tensor([[3, 4, 5, 0]]))
    long = enc(torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]]))
    assert torch.allclose(short[:, :3], long[:, :3], atol=1e-6)  # padding length changes nothing
    changed_last = enc(torch.tensor([[3, 4, 7, 0]]))
    assert (short[0, 0] - changed_last[0, 0]).abs().max() > 1e-3  # position 0 now reads item 2


def test_the_intention_projection_starts_as_the_paper_layer():
    z, length = torch.randn(2, 5, 8), torch.tensor([5, 2])
    plain = make_layer()
    torch.manual_seed(0)  # as make_layer: V takes no random numbers, so every other parameter is plain's
    projected = IntentionLayer(hidden_size=8, n_intents=3, max_len=6, temperature=0.1, layer_norm_eps=1e-12,
                               projection=True)
    assert torch.equal(projected.value, torch.eye(8))
    assert torch.allclose(projected(z, length)[0], plain(z, length)[0], atol=1e-6)


def test_the_intention_projection_maps_what_is_pooled():
    # one intention, one real item: phi = LN(beta + V z_1); with beta 0 and V a permutation P, and the
    # LayerNorm's weight 1 and bias 0, LN(P z_1) = P LN(z_1): the plain layer's phi, permuted
    plain = make_layer(k=1)
    layer = IntentionLayer(hidden_size=8, n_intents=1, max_len=6, temperature=0.1, layer_norm_eps=1e-12, projection=True)
    order = torch.tensor([3, 0, 7, 1, 6, 2, 5, 4])
    with torch.no_grad():
        plain.bias.zero_()
        layer.load_state_dict({**plain.state_dict(), "value": torch.eye(8)[order]})
    z, length = torch.randn(1, 4, 8), torch.tensor([1])
    phi_plain, _ = plain(z, length)
    phi, mass = layer(z, length)
    assert torch.allclose(phi[0, 0], phi_plain[0, 0][order], atol=1e-6) and mass.item() == 1.0
    assert not torch.allclose(phi, phi_plain, atol=1e-3)
