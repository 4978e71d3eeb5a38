"""Two full-ranking protocols for sequential models, and what a test ranking recommended.

- RecBole's (``eval_exclude_seen: False``): every item is ranked, the user's earlier items included.
- Seen items removed (``eval_exclude_seen: True``), as in S3Rec's code and in FMLP-Rec, ICLRec and
  BSARec: every item the user interacted with before the row's target scores -inf. For the test
  row that is every item before the test target (the validation item included); for the validation
  row, every item before the validation target. A target that the user had already interacted with
  earlier is removed as well, so that user misses (``targets_seen`` counts them).

The runner validates (and so stops early) under the protocol the setting chooses, and tests the best
model under both.
"""

import math
import time
from logging import getLogger

import numpy as np
import torch
from recbole.data.dataloader import FullSortEvalDataLoader
from recbole.utils import ModelType

from recbole_disen import metrics
from recbole_disen.errors import UserError

TOP_K = 10  # length of the recorded top lists (seen share, beyond-accuracy metrics)


def name(exclude_seen):
    """How the log and the CLI's summary name a ranking protocol."""
    return "seen items removed" if exclude_seen else "all items ranked (RecBole's protocol)"


def check(config, test_data):
    """True when both protocols apply (a sequential model ranking all items); else None, or a
    UserError if the setting asks for the second protocol."""
    supported = config["MODEL_TYPE"] == ModelType.SEQUENTIAL and isinstance(test_data, FullSortEvalDataLoader)
    if config["eval_exclude_seen"] and not supported:
        raise UserError(
            "eval_exclude_seen needs a sequential model and full ranking (eval_args mode 'full'): "
            "set eval_exclude_seen to False"
        )
    return supported


class SeenItems:
    """Each user's training items as CSR tensors on the device, built once from the training split.

    A user's training items are all training rows' targets plus each training row's first history
    item (the first row's is the user's first item; later ones cover a sliding window's start). An
    evaluation row adds its own history (``item_id_list``), which holds the items between the
    training period and its target: for the test row, the validation item.
    """

    def __init__(self, train_data, device):
        dataset = train_data.dataset
        config = dataset.config
        self.uid_field = dataset.uid_field
        self.list_field = dataset.iid_field + config["LIST_SUFFIX"]
        self.n_items = dataset.item_num
        inter = dataset.inter_feat
        users = inter[self.uid_field].long()  # [R]
        items = torch.cat([inter[dataset.iid_field], inter[self.list_field][:, 0]]).long()  # [2R]
        keys = torch.unique(torch.cat([users, users]) * self.n_items + items)  # sorted by user, then item
        counts = torch.bincount(keys // self.n_items, minlength=dataset.user_num)  # [U]
        self.indptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)]).to(device)  # [U + 1]
        self.indices = (keys % self.n_items).to(device)  # [nnz]

    def batch_mask(self, interaction):
        """[B, n_items] bool, True where an item came before the row's target (padding item 0 False)."""
        users = interaction[self.uid_field].to(self.indptr.device)  # [B]
        starts = self.indptr[users]  # [B]
        lengths = self.indptr[users + 1] - starts  # [B]
        rows = torch.repeat_interleave(torch.arange(len(users), device=users.device), lengths)  # [S]
        first = torch.repeat_interleave(starts - (lengths.cumsum(0) - lengths), lengths)  # [S]
        cols = self.indices[first + torch.arange(len(rows), device=users.device)]  # [S]
        mask = torch.zeros(len(users), self.n_items, dtype=torch.bool, device=users.device)
        mask[rows, cols] = True
        mask.scatter_(1, interaction[self.list_field].to(users.device), True)
        mask[:, 0] = False
        return mask


class RankingLog:
    """One evaluation's top-k lists; with ``seen``, how many of them are earlier items and how many
    targets are; with ``exclude_seen``, the earlier items are removed from the ranking first."""

    def __init__(self, seen=None, exclude_seen=False):
        if exclude_seen and seen is None:
            raise ValueError("exclude_seen needs the users' seen items")
        self.seen = seen
        self.exclude_seen = exclude_seen
        self.top, self.seen_in_top, self.target_seen = [], [], []

    def observe(self, interaction, scores, targets):
        """Record one batch ([B, n_items] scores, [B] targets); returns the scores that rank."""
        k = min(TOP_K, scores.shape[1])
        if self.seen is None:
            self.top.append(scores.topk(k, dim=1).indices.cpu())
            return scores
        mask = self.seen.batch_mask(interaction)  # [B, n_items]
        targets = targets.to(mask.device).view(-1, 1)  # [B, 1]
        target_seen = mask.gather(1, targets).view(-1)  # [B]
        if self.exclude_seen:
            # Below every real score; a target the user had before goes below those too (-inf), so that
            # when fewer than k items are left, no tie among the removed items ranks it into the top k.
            scores = scores.masked_fill_(mask, torch.finfo(scores.dtype).min)
            scores[target_seen, targets[target_seen, 0]] = -math.inf
        top = scores.topk(k, dim=1).indices  # [B, k]
        self.top.append(top.cpu())
        self.seen_in_top.append(mask.gather(1, top).sum(1).cpu())
        self.target_seen.append(target_seen.cpu())
        return scores

    def items(self):
        """[rows, k] int64 array: each row's top-k items, best first."""
        return torch.cat(self.top).numpy() if self.top else np.zeros((0, TOP_K), dtype=np.int64)

    def seen_share(self):
        """Share of all top-k slots that hold an item the user had before the target (None without seen,
        or when those items were removed from the ranking)."""
        if self.seen is None or self.exclude_seen or not self.top:
            return None
        return float(torch.cat(self.seen_in_top).sum()) / sum(t.numel() for t in self.top)

    def targets_seen(self):
        """How many rows' targets the user had interacted with before (None without seen)."""
        return int(torch.cat(self.target_seen).sum()) if self.seen is not None and self.top else None


def test_both(trainer, train_data, test_data, seen, load_best_model, show_progress):
    """Test the trained model under RecBole's protocol and, with ``seen``, under the second one: two
    passes over the test rows, one training. Returns the run's test keys: those of the protocol in
    force (``test_result``, ``test_user_ids``, ``test_user_ndcg@10``, ``test_user_horizon_ndcg@10``,
    ``test_eval_seconds``); each protocol's result, per-user NDCG@10 and horizon NDCG@10 (aligned
    with ``test_user_ids``) and beyond-accuracy metrics (suffixes ``_recbole``, ``_unseen``; None
    where it does not apply); the share of RecBole's top 10 that the users already had
    (``test_seen_share@10``) and how many test targets the users had before (``test_targets_seen``)."""
    # Beyond-accuracy metrics read the sequential training rows: only where the protocols apply.
    item_counts = metrics.train_item_counts(train_data) if seen is not None else None
    out, passes = {}, {}
    for name, exclude in (("recbole", False), ("unseen", True)):
        if exclude and seen is None:
            out.update({f"test_{key}_{name}": None for key in ("result", "user_ndcg@10", "beyond", "user_horizon_ndcg@10")})
            continue
        start = time.time()
        # the best checkpoint is loaded once, by the first pass
        result = trainer.evaluate(test_data, load_best_model=load_best_model and not exclude,
                                  show_progress=show_progress, seen=seen, exclude_seen=exclude)
        users, ndcg = trainer.user_ndcg()
        passes[name] = (users, time.time() - start)
        out[f"test_result_{name}"] = {key: float(value) for key, value in result.items()}
        out[f"test_user_ndcg@10_{name}"] = [float(x) for x in ndcg] if ndcg is not None else []
        out[f"test_beyond_{name}"] = (
            metrics.beyond_accuracy(trainer.ranking.items(), item_counts, trainer.config) if seen is not None else None
        )
        horizon_ndcg = trainer.horizon.user_ndcg() if trainer.horizon else []
        out[f"test_user_horizon_ndcg@10_{name}"] = [float(x) for x in horizon_ndcg]
        if not exclude:
            out["test_seen_share@10"] = trainer.ranking.seen_share()
            out["test_targets_seen"] = trainer.ranking.targets_seen()
    if out["test_targets_seen"]:
        getLogger().info(
            f"{out['test_targets_seen']} test targets were items the user had before: "
            "with seen items removed, those users miss"
        )
    in_force = "unseen" if trainer.config["eval_exclude_seen"] else "recbole"
    users, seconds = passes[in_force]
    return {
        "eval_exclude_seen": bool(trainer.config["eval_exclude_seen"]),
        "test_result": out[f"test_result_{in_force}"],
        "test_user_ids": users.tolist(),
        "test_user_ndcg@10": out[f"test_user_ndcg@10_{in_force}"],
        "test_user_horizon_ndcg@10": out[f"test_user_horizon_ndcg@10_{in_force}"],
        "test_eval_seconds": seconds,
        **out,
    }
