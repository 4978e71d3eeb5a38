"""DisenSeqRec

Reference:
    Jianxin Ma, Chang Zhou, Hongxia Yang, Peng Cui, Xin Wang, Wenwu Zhu.
    "Disentangled Self-Supervision in Sequential Recommenders." KDD 2020 (often cited as DSSRec).

The model only wires the parts: ``SequenceEncoder`` (z_i), ``IntentionLayer`` (phi_k), ``FutureIndex``
(each training row's future, from the training split only) and the loss functions in ``losses``.
"""

import torch
from torch import nn
from recbole.model.abstract_recommender import SequentialRecommender

from recbole_disen import losses
from recbole_disen.future import FUTURE_POSITION_FIELD, FutureIndex
from recbole_disen.modules import IntentionLayer, SequenceEncoder


class DisenSeqRec(SequentialRecommender):
    r"""Sequential recommender with K disentangled intentions and a seq2seq contrastive loss.

    Loss = CE over all items of s_j = agg_k <phi_k(x_{1:t}), e_j>  +  s2s_weight * masked InfoNCE between
    phi_k(x_{1:t}) and phi_k(reversed x_{t+1:}).
    """

    def __init__(self, config, dataset):
        super().__init__(config, dataset)
        hidden = config["hidden_size"]
        self.n_intents = config["n_intents"]
        self.aggregation = config["aggregation"]
        self.score_last = config["score_last"]
        self.s2s_weight = config["s2s_weight"]
        self.s2s_temperature = config["s2s_temperature"]
        self.keep_ratio = config["lambda"]
        self.mask_by = config["s2s_mask"]
        self.warmup_steps = config["s2s_warmup_steps"]
        self.symmetric = config["s2s_symmetric"]
        self.future_side = IntentionLayer.EARLIER if config["share_bias"] else IntentionLayer.FUTURE
        future_len = config["future_max_len"] or self.max_seq_length

        self.item_embedding = nn.Embedding(self.n_items, hidden, padding_idx=0)
        self.encoder = SequenceEncoder(
            self.item_embedding, max(self.max_seq_length, future_len), config["n_layers"],
            config["n_heads"], hidden, config["inner_size"], config["hidden_dropout_prob"],
            config["attn_dropout_prob"], config["hidden_act"], config["layer_norm_eps"],
        )
        self.intention = IntentionLayer(
            hidden, self.n_intents, max(self.max_seq_length, future_len),
            config["intent_temperature"], config["layer_norm_eps"],
        )
        self.projection = (
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            if config["s2s_projection"] else nn.Identity()
        )
        self.future = FutureIndex.from_dataset(dataset, future_len)
        # Every process builds the same index: DDP need not broadcast it at each step.
        self._ddp_params_and_buffers_to_ignore = ["future.items", "future.end"]
        self.register_buffer("train_steps", torch.zeros((), dtype=torch.long))
        self.initializer_range = config["initializer_range"]
        self.apply(self._init_weights)

    def _init_weights(self, module):
        """RecBole's SASRec initialisation for linear and embedding layers."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=self.initializer_range)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    def forward(self, item_seq, item_seq_len, side=IntentionLayer.EARLIER):
        """item_seq [B, L], item_seq_len [B] -> (phi [B, K, H], assignment mass [B, K], last z [B, H])."""
        z = self.encoder(item_seq)  # [B, L, H]
        phi, mass = self.intention(z, item_seq_len, side)  # [B, K, H], [B, K]
        return phi, mass, self.gather_indexes(z, (item_seq_len - 1).clamp(min=0))

    def score(self, phi, last, items):
        """Scores [B, N] of all N items [N, H] for each row's intentions phi [B, K, H] and last z [B, H]."""
        intent_scores = phi @ items.t()  # [B, K, N]
        scores = losses.aggregate_scores(intent_scores, self.aggregation, dim=1)  # [B, N]
        return scores + last @ items.t() if self.score_last else scores

    def seq2seq_weight(self):
        """s2s_weight, ramped linearly over the first ``s2s_warmup_steps`` training steps."""
        if self.warmup_steps <= 0:
            return self.s2s_weight
        return self.s2s_weight * torch.clamp(self.train_steps / self.warmup_steps, max=1.0)

    def seq2seq_terms(self, interaction, phi, mass):
        """Per-(row, intention) seq2seq losses [B, K], which of them the mask keeps [B, K] (bool), and
        the two sides' vectors in the contrastive space [B, K, H] (for diagnostics).

        phi [B, K, H] and mass [B, K] are the earlier sequences' intention vectors and assignment mass.
        """
        future_seq, future_len = self.future(interaction[self.USER_ID], interaction[FUTURE_POSITION_FIELD])
        future_phi, future_mass, _ = self.forward(future_seq, future_len, self.future_side)  # [B, K, H], [B, K]
        valid = future_len > 0  # [B]
        earlier, future = self.projection(phi), self.projection(future_phi)
        # The mass mask is known before the losses: only the kept pairs' losses are computed.
        anchors = losses.mass_mask(mass, future_mass, valid, self.keep_ratio) if self.mask_by == "mass" else None
        per_intent = losses.seq2seq_infonce(earlier, future, valid, self.s2s_temperature, anchors)  # [B, K]
        if self.symmetric:  # also the future predicting the earlier sequence
            backward = losses.seq2seq_infonce(future, earlier, valid, self.s2s_temperature, anchors)
            per_intent = (per_intent + backward) / 2
        keep = anchors if anchors is not None else losses.confidence_mask(per_intent, valid, self.keep_ratio)
        return per_intent, keep, earlier, future

    def calculate_loss(self, interaction):
        item_seq = interaction[self.ITEM_SEQ]  # [B, L]
        item_seq_len = interaction[self.ITEM_SEQ_LEN]  # [B]
        phi, mass, last = self.forward(item_seq, item_seq_len)  # [B, K, H], [B, K], [B, H]
        logits = self.score(phi, last, self.item_embedding.weight)  # [B, N]
        seq2item = nn.functional.cross_entropy(logits, interaction[self.POS_ITEM_ID])
        self.train_steps += 1
        if self.s2s_weight == 0:
            return seq2item, torch.zeros_like(seq2item)
        per_intent, keep, _, _ = self.seq2seq_terms(interaction, phi, mass)  # [B, K], [B, K]
        return seq2item, self.seq2seq_weight() * losses.masked_mean(per_intent, keep)

    def predict(self, interaction):
        phi, _, last = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        items = self.item_embedding(interaction[self.ITEM_ID])  # [B, H]
        intent_scores = (phi * items.unsqueeze(1)).sum(-1)  # [B, K]
        scores = losses.aggregate_scores(intent_scores, self.aggregation)  # [B]
        return scores + (last * items).sum(-1) if self.score_last else scores

    def full_sort_predict(self, interaction):
        phi, _, last = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return self.score(phi, last, self.item_embedding.weight)  # [B, n_items]

    def explain(self, interaction, items):
        """For each row and each item of ``items`` [B, N], the intention that scored it highest [B, N]."""
        phi, _, _ = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        item_vectors = self.item_embedding(items)  # [B, N, H]
        return torch.einsum("bkh,bnh->bnk", phi, item_vectors).argmax(-1)
