"""The horizon protocol: each user's last N items are the test horizon, the N before them validation.

With ``horizon: N`` a user's items x_0 .. x_{T-1} (ordered by time) split into

- training rows (history -> target) for the targets x_1 .. x_{T-2N-1}, as RecBole augments them;
- one validation row: history x_0 .. x_{T-2N-1} (truncated to MAX_ITEM_LIST_LENGTH), target x_{T-2N},
  and the validation horizon x_{T-2N} .. x_{T-N-1} in the field ``HORIZON_FIELD``;
- one test row: history x_0 .. x_{T-N-1} (truncated), target x_{T-N}, horizon x_{T-N} .. x_{T-1}.

No training row, and so no DisenSeqRec future (built from the training rows), holds a horizon item.
A row's target is its horizon's first item, so RecBole's own metrics on these rows are next-item
metrics; ``horizon_metrics`` scores the whole horizon from the same ranking. Users with fewer than
2N + 2 items are dropped: N test and N validation items, and two to train on (one history item and
one target). With N = 1 the rows are exactly RecBole's leave-one-out rows.
"""

import numpy as np
import recbole
import torch
from recbole.data.dataset import SequentialDataset
from recbole.data.interaction import Interaction
from recbole.utils import ModelType

from recbole_disen import datacheck
from recbole_disen.errors import UserError
from recbole_disen.future import row_positions

HORIZON_FIELD = "horizon_item_list"
TRAIN, VALID, TEST = 0, 1, 2
LEAVE_ONE_OUT = {"LS": "valid_and_test"}


def metric_names(topk, horizon):
    """Every result key the horizon evaluation adds, for ``topk`` (int or list) and N = ``horizon``."""
    ks = [topk] if isinstance(topk, int) else list(topk or [])
    names = [f"horizon_{name}@{k}" for k in ks for name in ("recall", "ndcg")]
    for i in range(1, horizon + 1):
        names += [f"horizon_pos{i}_hit@{k}" for k in ks] + [f"horizon_pos{i}_mrr"]
    return names


def check_settings(model, settings):
    """The ``horizon`` setting and what it needs of the others; ``settings`` are the merged raw ones."""
    n = settings.get("horizon")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise UserError(f"setting 'horizon' must be an integer >= 0 (0: off), got {n!r}")
    valid_metric = str(settings.get("valid_metric", "")).lower()
    if n == 0:
        if valid_metric.startswith("horizon_"):
            raise UserError(f"valid_metric '{valid_metric}' needs the horizon evaluation: set horizon to N >= 1")
        return
    names = metric_names(settings.get("topk"), n)
    if valid_metric not in names:
        raise UserError(
            f"horizon {n} validates on the horizon: set valid_metric to one of its metrics such as "
            f"horizon_ndcg@K with K in topk ({', '.join(names[:2])}, ...), got {settings.get('valid_metric')!r}"
        )
    if settings.get("MODEL_TYPE") != ModelType.SEQUENTIAL or hasattr(recbole.data.dataset, f"{model}Dataset"):
        raise UserError(f"horizon needs a sequential model that uses RecBole's SequentialDataset; {model} does not")
    if settings.get("benchmark_filename"):
        raise UserError("horizon makes its own split: it cannot use benchmark_filename's pre-split files")
    if n > settings.get("MAX_ITEM_LIST_LENGTH", n):
        raise UserError(
            f"horizon {n} is longer than MAX_ITEM_LIST_LENGTH {settings.get('MAX_ITEM_LIST_LENGTH')}: the test input "
            "must hold the whole validation horizon; use a horizon <= MAX_ITEM_LIST_LENGTH"
        )
    eval_args = settings.get("eval_args") or {}
    if eval_args.get("order", "TO") != "TO":
        raise UserError(f"horizon orders each user's items by time: set eval_args order to TO, got {eval_args.get('order')!r}")
    mode = eval_args.get("mode", "full")
    if any(m != "full" for m in (mode.values() if isinstance(mode, dict) else [mode])):
        raise UserError(f"horizon ranks all items: set eval_args mode to full, got {mode!r}")
    if eval_args.get("split") != LEAVE_ONE_OUT:
        raise UserError(
            f"horizon holds out its own validation and test horizons: leave eval_args split at "
            f"{LEAVE_ONE_OUT}, got {eval_args.get('split')!r}"
        )


class HorizonDataset(SequentialDataset):
    """RecBole's sequential dataset, split by the horizon protocol (see the module's docstring)."""

    def __init__(self, config):
        self.horizon = config["horizon"]
        self.horizon_dropped_users = 0
        self._horizon_split = None
        super().__init__(config)

    def drop_short_users(self):
        """Drop, and count, the users too short for the protocol (after exact duplicates are dropped)."""
        n = self.horizon
        self.horizon_dropped_users = datacheck.drop_short_users(
            self.config, self, 2 * n + 2, f"horizon {n} ({n} test, {n} validation, 2 training items)"
        )

    def data_augmentation(self):
        """RecBole's augmentation of each user's items up to the first test-horizon item, then each row's
        part: training, validation, test, or none (the targets inside the validation horizon)."""
        n = self.horizon
        self.sort(by=[self.uid_field, self.time_field], ascending=True)
        users = self.inter_feat[self.uid_field].numpy()  # [I], grouped by user, in time order
        items = self.inter_feat[self.iid_field].clone()  # [I]
        count = np.bincount(users, minlength=self.user_num)  # [U], items per user
        first = np.r_[0, np.cumsum(count)[:-1]]  # [U], where each user's items start in ``items``
        position = row_positions(users) - 1  # [I], 0-based position of each item in its user's sequence
        self.inter_feat = self.inter_feat[np.flatnonzero(position <= count[users] - n)]
        super().data_augmentation()
        row_users = self.inter_feat[self.uid_field].numpy()  # [R]
        target = row_positions(row_users)  # [R], position of each row's target (the first row's is 1)
        length = count[row_users]  # [R]
        part = np.full(len(row_users), -1)
        part[target <= length - 2 * n - 1] = TRAIN
        part[target == length - 2 * n] = VALID
        part[target == length - n] = TEST
        self._horizon_split = (part, first[row_users] + target, items)

    def build(self):
        """[train, valid, test] datasets; the valid and test rows carry their horizon [U, N]."""
        self._change_feat_format()
        self._drop_unused_col()
        part, target_slot, items = self._horizon_split
        self._horizon_split = None  # the split copies below must not carry it
        datasets = []
        for which in (TRAIN, VALID, TEST):
            rows = np.flatnonzero(part == which)
            feat = self.inter_feat[rows]
            if which != TRAIN:
                slots = target_slot[rows][:, None] + np.arange(self.horizon)  # [U, N]
                feat.update(Interaction({HORIZON_FIELD: items[torch.as_tensor(slots)]}))
            datasets.append(self.copy(feat))
        return datasets
