"""What a trained DisenSeqRec's intentions hold, for one user and for a whole dataset.

For one user (their whole known sequence, as ``recommend`` uses it): p(k|i) for each history item and
intention, p_i (how much each item matters for the future), the assignment mass m_k and the top items
of each intention by <phi_k, e_j>. For a dataset (its test rows, as evaluated): the mean mass of each
intention, and how often each intention is the best one for an item of the top k (the intention that
``recommend`` names). Every quantity comes from the model's own modules (``model.encoder``,
``model.intention``, ``model.explain``); nothing here re-implements their equations.
"""

from dataclasses import dataclass

import numpy as np
import torch

from recbole_disen import datacheck, recommend
from recbole_disen.errors import UserError
from recbole_disen.model import DisenSeqRec


@dataclass
class UserIntentions:
    """One user's history (most recent last) and what each intention makes of it."""

    user: str  # raw user id
    items: list  # raw item ids of the history the model reads, most recent last [L]
    assignment: np.ndarray  # p(k|i) [L, K]
    importance: np.ndarray  # p_i [L]
    mass: np.ndarray  # m_k [K]
    top_items: list  # per intention, [(raw item, <phi_k, e_j>), ...] best first [K][top_n]


@dataclass
class DatasetIntentions:
    """How the intentions share a dataset's test rows."""

    rows: int  # test rows scored
    k: int  # length of each row's top list
    mass: np.ndarray  # mean m_k over the rows [K]
    wins: np.ndarray  # share of the rows' top-k items whose best intention is k [K]


def require_disen(model):
    """The intentions exist only in DisenSeqRec: anything else is a one-line error."""
    if not isinstance(model, DisenSeqRec):
        raise UserError(
            f"intentions need a DisenSeqRec checkpoint; this one holds {type(model).__name__}, which has no intentions"
        )


def explain_sequence(model, item_seq, item_seq_len, top_n):
    """p(k|i) [B, L, K], p_i [B, L], m_k [B, K], and the top_n items [B, K, n] with their <phi_k, e_j> [B, K, n].

    item_seq [B, L] is left-aligned and 0-padded, as RecBole stores sequences; the padding item is never
    among the top items.
    """
    with torch.no_grad():
        z = model.encoder(item_seq)  # [B, L, H]
        assignment = model.intention.assignment(z)  # [B, L, K]
        importance = model.intention.importance(z, item_seq_len)  # [B, L]
        phi, mass = model.intention(z, item_seq_len)  # [B, K, H], [B, K]
        scores = phi @ model.item_embedding.weight[1:].t()  # [B, K, n_items - 1]
        top_scores, top = torch.topk(scores, top_n, dim=-1)  # [B, K, n]
    return assignment, importance, mass, top + 1, top_scores


def raw_items(dataset, ids):
    """Raw item ids (str) of internal ids [N] (as numpy: RecBole's id2token turns a 1-element tensor into one str)."""
    return dataset.id2token(dataset.iid_field, ids.cpu().numpy()).tolist()


def user_intentions(model, dataset, test_data, raw_user, top_n=5):
    """UserIntentions of one raw user id, from their whole known sequence (as ``recommend`` reads it)."""
    require_disen(model)
    datacheck.check_list_length("--top", top_n, dataset)
    user_ids = recommend.internal_user_ids(dataset, [raw_user])
    device = next(model.parameters()).device
    interaction = recommend.history_batch(model, test_data, user_ids, [raw_user]).to(device)
    item_seq, item_seq_len = interaction[model.ITEM_SEQ], interaction[model.ITEM_SEQ_LEN]  # [1, L], [1]
    assignment, importance, mass, top, top_scores = explain_sequence(model, item_seq, item_seq_len, top_n)
    length = int(item_seq_len[0])
    top_items = [list(zip(raw_items(dataset, items), scores.tolist())) for items, scores in zip(top[0], top_scores[0])]
    return UserIntentions(
        user=raw_user,
        items=raw_items(dataset, item_seq[0, :length]),
        assignment=assignment[0, :length].cpu().numpy(),
        importance=importance[0, :length].cpu().numpy(),
        mass=mass[0].cpu().numpy(),
        top_items=top_items,
    )


def dataset_intentions(model, test_data, k=10):
    """DatasetIntentions over every row of ``test_data`` (RecBole's full-sort test loader); the top k is
    ``recommend``'s: all real items ranked by the model's score."""
    require_disen(model)
    datacheck.check_list_length("--k", k, test_data.dataset)
    device = next(model.parameters()).device
    n_intents = model.n_intents
    mass_sum = torch.zeros(n_intents, dtype=torch.float64)
    wins = torch.zeros(n_intents, dtype=torch.long)
    rows = 0
    for interaction, *_ in test_data:
        interaction = interaction.to(device)
        with torch.no_grad():
            _, mass, _ = model(interaction[model.ITEM_SEQ], interaction[model.ITEM_SEQ_LEN])  # [B, K]
        _, _, best = recommend.top_items(model, interaction, k)  # [B, k]: the intention behind each item
        mass_sum += mass.sum(0).double().cpu()
        wins += torch.bincount(best.flatten().cpu(), minlength=n_intents)
        rows += mass.size(0)
    if rows == 0:
        raise UserError("the dataset has no test rows: nothing to summarise")
    return DatasetIntentions(
        rows=rows, k=k, mass=(mass_sum / rows).numpy(), wins=(wins.double() / (rows * k)).numpy()
    )
