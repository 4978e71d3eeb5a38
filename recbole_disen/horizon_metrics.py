"""Scores of one ranking against a user's horizon of N future items (see ``horizon``).

Each eval row's ranking of all items (scores descending, equal scores by item id, so every item has
one rank and a model that scores all items alike gains nothing from ties) is scored against the row's
horizon: Recall@K and NDCG@K over the horizon's distinct items as a set (NDCG's ideal has
min(distinct items, K) hits), and, for each position i = 1..N, the rank of the i-th future item
(reciprocal rank over the full ranking, and whether it is in the top K).
"""

import torch

from recbole_disen.horizon import HORIZON_FIELD

USER_NDCG_K = 10  # the per-user NDCG kept for paired tests


def horizon_ranks(scores, horizon):
    """scores [B, I], horizon [B, N] item ids -> rank [B, N] of each horizon item (1 = top)."""
    target = scores.gather(1, horizon)  # [B, N]
    item_ids = torch.arange(scores.shape[1], device=scores.device)  # [I]
    ranks = []
    # N comparison passes over [B, I] (N is the horizon, a few items): cheaper in time and memory than
    # sorting all I scores of every row, or one [B, N, I] comparison, for such N
    for i in range(horizon.shape[1]):
        s, item = target[:, i : i + 1], horizon[:, i : i + 1]  # [B, 1]
        ahead = (scores > s) | ((scores == s) & (item_ids < item))  # [B, I]: equal scores, lower id first
        ranks.append(ahead.sum(1) + 1)
    return torch.stack(ranks, 1)  # [B, N]


def first_occurrences(horizon):
    """[B, N] bool: the item is not already earlier in its row's horizon (a set counts it once)."""
    n = horizon.shape[1]
    same = horizon.unsqueeze(2) == horizon.unsqueeze(1)  # [B, N, N]
    earlier = torch.ones(n, n, dtype=torch.bool, device=horizon.device).tril(-1)  # [i, j]: j < i
    return ~(same & earlier).any(2)


def set_scores(ranks, first, k):
    """(Recall@k [B], NDCG@k [B]) of each row's horizon as a set; ranks [B, N], first [B, N] bool."""
    hit = first & (ranks <= k)  # [B, N]
    relevant = first.sum(1)  # [B], distinct horizon items
    recall = hit.sum(1) / relevant
    dcg = (hit / torch.log2(ranks.double() + 1)).sum(1)  # [B]
    ideal = torch.cumsum(1 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64)), 0)  # [k]
    return recall.double(), dcg / ideal[relevant.clamp(max=k) - 1]


def row_scores(ranks, first, topk):
    """{metric name: [B] per-row value}, named and ordered as ``horizon.metric_names``."""
    out = {}
    for k in topk:
        out[f"horizon_recall@{k}"], out[f"horizon_ndcg@{k}"] = set_scores(ranks, first, k)
    for i in range(ranks.shape[1]):
        for k in topk:
            out[f"horizon_pos{i + 1}_hit@{k}"] = (ranks[:, i] <= k).double()
        out[f"horizon_pos{i + 1}_mrr"] = 1 / ranks[:, i].double()
    return out


class HorizonRecorder:
    """Collects the horizon ranks of an evaluation's batches; gives the means and per-user NDCG@10."""

    def __init__(self, config):
        self.config = config
        self.topk = config["topk"]
        self.ranks, self.firsts = [], []

    def reset(self):
        self.ranks, self.firsts = [], []

    def collect(self, interaction, scores):
        """One batch: its rows' horizons and full-ranking scores [B, I] (padding already -inf)."""
        horizon = interaction[HORIZON_FIELD].to(scores.device)  # [B, N]
        self.ranks.append(horizon_ranks(scores, horizon).cpu())
        self.firsts.append(first_occurrences(horizon).cpu())

    def result(self):
        """{name: mean over users}, rounded as RecBole rounds; summed over processes when distributed."""
        ranks, first = torch.cat(self.ranks), torch.cat(self.firsts)
        per_row = row_scores(ranks, first, self.topk)
        totals = torch.tensor([float(v.sum()) for v in per_row.values()] + [len(ranks)], dtype=torch.float64)
        if not self.config["single_spec"]:
            totals = totals.to(self.config["device"])
            torch.distributed.all_reduce(totals)
        means = (totals[:-1] / totals[-1]).tolist()
        places = self.config["metric_decimal_place"]
        return {name: round(value, places) for name, value in zip(per_row, means)}

    def user_ndcg(self):
        """Each evaluated user's horizon NDCG@10 (in evaluation order), as numpy."""
        ranks, first = torch.cat(self.ranks), torch.cat(self.firsts)
        return set_scores(ranks, first, USER_NDCG_K)[1].numpy()
