"""The intention layer: K intention vectors phi_k from the per-position outputs z_i (Sec. 3.3).

    p(k|i) = softmax_k cos(z_i, c_k) / tau                       (intention assignment)
    p_i    = softmax_{i real} <k_i, q> / sqrt(D)                 (importance for the future)
             k_i = k~_i + ReLU(W k~_i + b),  k~_i = LN(z_i + alpha_i),  q = LN(z_t + alpha_t + b')
    phi_k  = LN(beta_k + sum_i p(k|i) p_i z_i)                   (intention representation)
    m_k    = sum_i p(k|i) p_i                                    (assignment mass, sums to 1 over k)

The earlier and the future sequence use different biases beta (``side`` 0 and 1). With ``projection``
(not in the paper) phi_k pools V z_i instead of z_i, V a learned H x H map that starts as the identity
(so training starts from the paper's layer): z_i points at its own item x_i, and V lets an intention
point elsewhere than at the items it pools.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class IntentionLayer(nn.Module):
    """Turns z [B, L, H] and the real lengths [B] into phi [B, K, H] and the assignment mass [B, K]."""

    EARLIER, FUTURE = 0, 1

    def __init__(self, *, hidden_size, n_intents, max_len, temperature, layer_norm_eps, projection=False):
        super().__init__()
        self.temperature = temperature
        self.scale = 1.0 / math.sqrt(hidden_size)
        self.prototypes = nn.Parameter(torch.randn(n_intents, hidden_size) * self.scale)  # c_k
        self.position = nn.Parameter(torch.zeros(max_len, hidden_size))  # alpha_i
        self.key_transform = nn.Linear(hidden_size, hidden_size)  # W, b
        self.query_bias = nn.Parameter(torch.zeros(hidden_size))  # b'
        self.attention_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.bias = nn.Parameter(torch.randn(2, n_intents, hidden_size) * self.scale)  # beta per side
        self.output_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        # V as a plain parameter, so that the model's initialisation of linear layers leaves it the identity
        self.value = nn.Parameter(torch.eye(hidden_size)) if projection else None

    def assignment(self, z):
        """p(k|i): z [B, L, H] -> [B, L, K], each row a distribution over the K intentions."""
        cosine = F.normalize(z, dim=-1) @ F.normalize(self.prototypes, dim=-1).t()  # [B, L, K]
        return torch.softmax(cosine / self.temperature, dim=-1)

    def importance(self, z, length):
        """p_i: z [B, L, H], length [B] -> [B, L]; exactly 0 on padding, rows sum to 1 (length >= 1)."""
        seq_len = z.size(1)
        real = torch.arange(seq_len, device=z.device) < length.unsqueeze(1)  # [B, L]
        keys = self.attention_norm(z + self.position[:seq_len])  # [B, L, H]
        keys = keys + F.relu(self.key_transform(keys))
        last = (length - 1).clamp(min=0)  # [B]
        z_last = z[torch.arange(z.size(0), device=z.device), last]  # [B, H]
        query = self.attention_norm(z_last + self.position[last] + self.query_bias)  # [B, H]
        scores = (keys @ query.unsqueeze(-1)).squeeze(-1) * self.scale  # [B, L]
        scores = scores.masked_fill(~real, torch.finfo(scores.dtype).min)
        return torch.softmax(scores, dim=-1) * real

    def forward(self, z, length, side=EARLIER):
        """(phi [B, K, H], m [B, K]): how much of the sequence each intention holds.

        With ``length`` 0 a row gives LN(beta_k), the "no intention" vector, and a mass of 0.
        """
        weight = self.assignment(z) * self.importance(z, length).unsqueeze(-1)  # [B, L, K]
        pooled = weight.transpose(1, 2) @ z  # [B, K, H]
        if self.value is not None:  # sum_i w_ik V z_i = V sum_i w_ik z_i
            pooled = pooled @ self.value.t()  # [B, K, H]
        return self.output_norm(self.bias[side] + pooled), weight.sum(1)
