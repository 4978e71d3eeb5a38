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
        self.causal = config["causal"]
        self.n_intents = config["n_intents"]
        self.aggregation = config["aggregation"]
        self.score_last = config["score_last"]
        self.intent_projection = config["intent_projection"]
        self.s2s_weight = config["s2s_weight"]
        self.s2s_temperature = config["s2s_temperature"]
        self.lambda_ = config["lambda"]  # `lambda` is a Python keyword
        self.s2s_mask = config["s2s_mask"]
        self.s2s_warmup_steps = config["s2s_warmup_steps"]
        self.s2s_symmetric = config["s2s_symmetric"]
        self.s2s_same_user_negatives = config["s2s_same_user_negatives"]
        self.share_bias = config["share_bias"]
        self.future_max_len = config["future_max_len"] or self.max_seq_length
        max_len = max(self.max_seq_length, self.future_max_len)

        self.item_embedding = nn.Embedding(self.n_items, hidden, padding_idx=0)
        self.encoder = SequenceEncoder(
            item_embedding=self.item_embedding, max_len=max_len, n_layers=config["n_layers"],
            n_heads=config["n_heads"], hidden_size=hidden, inner_size=config["inner_size"],
            hidden_dropout_prob=config["hidden_dropout_prob"], attn_dropout_prob=config["attn_dropout_prob"],
            hidden_act=config["hidden_act"], layer_norm_eps=config["layer_norm_eps"], causal=self.causal,
        )
        self.intention = IntentionLayer(
            hidden_size=hidden, n_intents=self.n_intents, max_len=max_len,
            temperature=config["intent_temperature"], layer_norm_eps=config["layer_norm_eps"],
            projection=self.intent_projection,
        )
        self.projection = (  # without the seq2seq term no head: the model is the same whatever the setting
            nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
            if config["s2s_projection"] and self.s2s_weight > 0 else nn.Identity()
        )
        self.future = FutureIndex.from_dataset(dataset, self.future_max_len)
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
        """Scores [B, N] of items [N, H] (or [B, N, H]: N items per row) for intentions phi [B, K, H]
        and last z [B, H].

        With ``score_last``, agg_k <phi_k, e_j> + <z_t, e_j> = agg_k <phi_k + z_t, e_j> for max and
        logsumexp alike (a term shared by the K scores moves out of both), so one product does both.
        """
        if self.score_last:
            phi = phi + last.unsqueeze(1)  # [B, K, H]
        intent_scores = phi @ items.transpose(-1, -2)  # [B, K, N]
        return losses.aggregate_scores(intent_scores, self.aggregation, dim=1)  # [B, N]

    def seq2seq_weight(self):
        """s2s_weight, ramped linearly over the first ``s2s_warmup_steps`` training steps."""
        if self.s2s_warmup_steps <= 0:
            return self.s2s_weight
        return self.s2s_weight * torch.clamp(self.train_steps / self.s2s_warmup_steps, max=1.0)

    def seq2seq_terms(self, interaction, phi, mass):
        """Per-(row, intention) seq2seq losses [B, K], which of them the mask keeps [B, K] (bool), and
        the two sides' vectors in the contrastive space [B, K, H] (for diagnostics).

        phi [B, K, H] and mass [B, K] are the earlier sequences' intention vectors and assignment mass.
        """
        users = interaction[self.USER_ID]  # [B]
        future_seq, future_len = self.future(users, interaction[FUTURE_POSITION_FIELD])  # [B, F], [B]
        side = IntentionLayer.EARLIER if self.share_bias else IntentionLayer.FUTURE
        future_phi, future_mass, _ = self.forward(future_seq, future_len, side)  # [B, K, H], [B, K]
        valid = future_len > 0  # [B]
        earlier, future = self.projection(phi), self.projection(future_phi)
        # Other rows of the same user have overlapping futures: optionally not counted as negatives.
        groups = None if self.s2s_same_user_negatives else users
        # The mass mask is known before the losses: only the kept pairs' losses are computed.
        anchors = losses.mass_mask(mass, future_mass, valid, self.lambda_) if self.s2s_mask == "mass" else None
        per_intent = losses.seq2seq_infonce(earlier, future, valid, self.s2s_temperature, anchors, groups)  # [B, K]
        if self.s2s_symmetric:  # also the future predicting the earlier sequence
            backward = losses.seq2seq_infonce(future, earlier, valid, self.s2s_temperature, anchors, groups)
            per_intent = (per_intent + backward) / 2
        keep = anchors if anchors is not None else losses.confidence_mask(per_intent, valid, self.lambda_)
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
        items = self.item_embedding(interaction[self.ITEM_ID]).unsqueeze(1)  # [B, 1, H]
        return self.score(phi, last, items).squeeze(1)  # [B]

    def full_sort_predict(self, interaction):
        phi, _, last = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        return self.score(phi, last, self.item_embedding.weight)  # [B, n_items]

    def explain(self, interaction, items):
        """For each row and each item of ``items`` [B, N], the intention that scored it highest [B, N]."""
        phi, _, _ = self.forward(interaction[self.ITEM_SEQ], interaction[self.ITEM_SEQ_LEN])
        item_vectors = self.item_embedding(items)  # [B, N, H]
        return torch.einsum("bkh,bnh->bnk", phi, item_vectors).argmax(-1)
