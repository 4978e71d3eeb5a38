"""DisenSeqRec's losses as pure functions of tensors (the equations of the paper's Sec. 3, as written
out in the project's method notes: seq2item scoring, per-intention InfoNCE, confidence mask).

Nothing here holds state: each function maps tensors to tensors, so each can be checked by hand.
"""

import torch


def aggregate_scores(intent_scores, aggregation, dim=-1):
    """Score of an item from its K per-intention scores along ``dim`` (seq2item, s_j = agg_k <phi_k, e_j>).

    ``max`` is the multi-interest retrieval rule; ``logsumexp`` is its smooth upper bound.
    """
    if aggregation == "max":
        return intent_scores.max(dim=dim).values
    return torch.logsumexp(intent_scores, dim=dim)


def seq2seq_infonce(earlier, future, valid, temperature, anchors=None, groups=None):
    """Per-(row, intention) InfoNCE losses [B, K] (the seq2seq loss, L_s2s(u, t, k)).

    earlier, future: [B, K, H] intention vectors of the earlier and the (reversed) future sequence;
    valid: [B] bool, rows that have a future. For row b and intention k the positive is future[b, k];
    the negatives are future[b', k'] for every valid row b' and every k' (the same row's other
    intentions included). Rows without a future get a loss of 0 and are no one's negative.
    anchors: optional bool [B, K], the only (row, intention) pairs whose loss is computed (a mask
    known in advance); the others get 0 and cost nothing, though they stay negatives. Selecting
    them reads their count back from the device (one synchronisation per call).
    groups: optional [B] ids (the rows' users); another row of the same group is not a negative
    (a user's rows have overlapping futures), the row's own other intentions still are.
    """
    batch, n_intents, hidden = earlier.shape
    candidate = valid.repeat_interleave(n_intents)  # [BK]
    flat_earlier, flat_future = earlier.reshape(-1, hidden), future.reshape(-1, hidden)  # [BK, H]
    if anchors is None:
        rows = torch.arange(batch * n_intents, device=earlier.device)  # [BK]
    else:
        rows = (anchors.flatten() & candidate).nonzero().squeeze(1)  # [A]
    allowed = candidate.unsqueeze(0)  # [1, BK]
    if groups is not None:
        row_of = torch.arange(batch, device=earlier.device).repeat_interleave(n_intents)  # [BK]
        group_of = groups.repeat_interleave(n_intents)  # [BK]
        same_group = group_of[rows].unsqueeze(1) == group_of.unsqueeze(0)  # [A, BK]
        other_row = row_of[rows].unsqueeze(1) != row_of.unsqueeze(0)  # [A, BK]
        allowed = allowed & ~(same_group & other_row)
    per_row = _anchor_losses(flat_earlier[rows], flat_future, rows, allowed, temperature)  # [A]
    losses = per_row if anchors is None else per_row.new_zeros(batch * n_intents).index_copy(0, rows, per_row)
    return torch.where(candidate, losses, 0.0).view(batch, n_intents)


def _anchor_losses(anchor, flat_future, positive, allowed, temperature):
    """InfoNCE of each anchor [A, H] against the allowed candidate futures ([A, BK] or [1, BK] bool)
    among flat_future [BK, H]; ``positive`` [A] is the column of each anchor's own future.
    Log-sum-exp in float32, so fp16 logits cannot overflow."""
    logits = (anchor @ flat_future.t()) / temperature  # [A, BK]
    logits = logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)
    return torch.logsumexp(logits.float(), dim=-1) - logits.gather(1, positive.unsqueeze(1)).squeeze(1).float()


def confidence_mask(losses, valid, keep_ratio):
    """Keep the ``keep_ratio`` (lambda) fraction of smallest losses among valid rows: bool [B, K].

    With n = K * (number of valid rows) candidates, the threshold is the max(1, floor(lambda n))-th
    smallest loss; every loss at or below it is kept. The threshold is computed without gradient.
    """
    batch, n_intents = losses.shape
    ranked = torch.where(valid.unsqueeze(1), losses.detach(), float("inf")).flatten().sort().values
    count = valid.sum() * n_intents
    kth = torch.clamp(torch.floor(count * keep_ratio).long(), min=1) - 1
    threshold = ranked.gather(0, kth.view(1))
    return (losses.detach() <= threshold) & valid.unsqueeze(1)


def mass_mask(earlier_mass, future_mass, valid, keep_ratio):
    """Keep the ``keep_ratio`` fraction of (row, intention) pairs whose intention holds the most
    assignment mass on *both* sides, min(m_k(earlier), m_k(future)): bool [B, K].

    An alternative to the paper's loss-ranked confidence mask (same count, same tie rule): the
    seq2seq task asks intention k of the earlier sequence to predict the future only where k is
    present in both, instead of where the loss happens to be small. Computed without gradient.
    """
    return confidence_mask(-torch.minimum(earlier_mass, future_mass), valid, keep_ratio)


def masked_mean(losses, mask):
    """Mean of ``losses`` where ``mask`` holds; 0 (with a gradient path) when nothing is kept."""
    return (losses * mask).sum() / mask.sum().clamp(min=1)
