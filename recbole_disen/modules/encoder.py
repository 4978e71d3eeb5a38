"""The sequence encoder: item and position embeddings, then RecBole's TransformerEncoder (causal by default).

It is SASRec's encoder (Kang and McAuley, ICDM 2018) with the item embedding table owned by the
caller, so that the same table scores items. Sequences are left-aligned with 0 as padding, as RecBole
stores them. With ``causal`` False every position attends to every real position of the sequence
(as in BERT4Rec): the sequence it encodes is all history, so nothing leaks.
"""

import torch
from torch import nn
from recbole.model.layers import TransformerEncoder


def attention_mask(item_seq, causal=True):
    """Additive attention mask [B, 1, L, L]: position i sees real positions j <= i only, or with
    ``causal`` False every real position."""
    real = (item_seq != 0).unsqueeze(1).unsqueeze(2)  # [B, 1, 1, L]
    seen = real.expand(-1, -1, item_seq.size(-1), -1)  # [B, 1, L, L]
    return torch.where(torch.tril(seen) if causal else seen, 0.0, -10000.0)


class SequenceEncoder(nn.Module):
    """Gives z_i for each position of an item sequence (the paper's Transformer, Sec. 3)."""

    def __init__(self, *, item_embedding, max_len, n_layers, n_heads, hidden_size, inner_size,
                 hidden_dropout_prob, attn_dropout_prob, hidden_act, layer_norm_eps, causal=True):
        super().__init__()
        self.causal = causal
        self.item_embedding = item_embedding
        self.position_embedding = nn.Embedding(max_len, hidden_size)
        self.layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dropout = nn.Dropout(hidden_dropout_prob)
        self.transformer = TransformerEncoder(
            n_layers=n_layers,
            n_heads=n_heads,
            hidden_size=hidden_size,
            inner_size=inner_size,
            hidden_dropout_prob=hidden_dropout_prob,
            attn_dropout_prob=attn_dropout_prob,
            hidden_act=hidden_act,
            layer_norm_eps=layer_norm_eps,
        )

    def forward(self, item_seq):
        """item_seq [B, L] (0 = padding) -> z [B, L, H]; a padded position's output is never read."""
        positions = torch.arange(item_seq.size(1), device=item_seq.device)  # [L]
        x = self.item_embedding(item_seq) + self.position_embedding(positions)  # [B, L, H]
        x = self.dropout(self.layer_norm(x))
        layers = self.transformer(x, attention_mask(item_seq, self.causal), output_all_encoded_layers=False)
        return layers[-1]  # [B, L, H]
