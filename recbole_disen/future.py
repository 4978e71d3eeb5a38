"""Each training row's future, built from the training split only (the seq2seq target).

RecBole's augmentation turns a user's items x_0 .. x_{T-1} into rows (x_0..x_{i-1} -> x_i), truncated to
MAX_ITEM_LIST_LENGTH, and leave-one-out keeps a user's last rows for validation and test. So a user's
training rows, in their stored order, have targets at positions 1, 2, ..., m, and the user's training
items are x_0 .. x_m: the first row's history item followed by the training targets. The future of the
row with target x_i is x_i .. x_m, nearest first; encoded reversed so that x_i is the last real item.

That is a contract on the data, checked where the index is built (``training_slots``): each row's last
history item must be the item in the slot before the row's own. It fails for rows out of time order, for
splits that do not start at a user's first item, or for pre-split files (``benchmark_filename``).

The index is built once, in O(interactions): a flat array of every user's training items, where each
user's items start and end, and each row's slot. RecBole batches do not carry row ids, so the runner,
where it prepares the data, tags each training row with its slot in the field ``FUTURE_POSITION_FIELD``
(``tag_training_rows``); the model's index accepts only data tagged that way, so a batch's futures are one
gather and never come from another split (a model built on the full dataset would see validation and test
items in its futures).
"""

import numpy as np
import torch
from recbole.data.interaction import Interaction

from recbole_disen.errors import UserError

FUTURE_POSITION_FIELD = "disen_position"


def row_positions(users):
    """Per row, the 1-based rank of the row among its user's rows, in stored order. users: int [N]."""
    order = np.argsort(users, kind="stable")
    sorted_users = users[order]
    group_start = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    group_size = np.diff(np.r_[group_start, len(users)])
    rank = np.arange(len(users)) - np.repeat(group_start, group_size) + 1
    positions = np.empty_like(rank)
    positions[order] = rank
    return positions


def build_index(users, first_items, targets, n_users):
    """The flat training-item array and each user's [start, end] slots in it, plus each row's slot.

    users, targets: int [N] per training row; first_items: int [N], the first history item of each
    row (read only where the row is its user's first). Returns (items [n_users_with_rows + N],
    start [n_users], end [n_users], row_slot [N]); a user without rows has end < start.
    """
    positions = row_positions(users)
    count = np.bincount(users, minlength=n_users)  # rows per user
    start = np.r_[0, np.cumsum(count + (count > 0))[:-1]]  # each user with rows owns count + 1 slots
    end = start + count  # slot of x_m, or start - 1 when the user has no rows (count 0, end = start)
    end = np.where(count > 0, end, start - 1)
    items = np.zeros(int((count + (count > 0)).sum()), dtype=np.int64)
    row_slot = start[users] + positions
    items[row_slot] = targets
    first = positions == 1
    items[start[users[first]]] = first_items[first]
    return items, start, end, row_slot


def training_slots(dataset):
    """(items, end, row_slot) of ``build_index`` for RecBole's augmented training dataset, its contract
    checked: a UserError if any row's last history item is not the item in the slot before its own."""
    feat = dataset.inter_feat
    users = feat[dataset.uid_field].numpy()  # [N]
    history = feat[dataset.item_id_list_field].numpy()  # [N, L]
    length = feat[dataset.item_list_length_field].numpy()  # [N]
    items, _, end, row_slot = build_index(users, history[:, 0], feat[dataset.iid_field].numpy(), dataset.user_num)
    last_history = history[np.arange(len(users)), np.maximum(length - 1, 0)]  # [N]
    broken = np.flatnonzero(items[row_slot - 1] != last_history)
    if len(broken):
        user = dataset.id2token(dataset.uid_field, users[broken[0]])
        raise UserError(
            f"DisenSeqRec's future index needs RecBole's time-ordered leave-one-out training split, in which "
            f"each user's rows continue one another; {len(broken)} of {len(users)} training rows do not "
            f"(first: a row of user '{user}'): use eval_args order TO and split LS, without benchmark_filename"
        )
    return items, end, row_slot


def tag_training_rows(dataset):
    """Write each training row's slot into its field ``FUTURE_POSITION_FIELD`` (contract checked)."""
    _, _, row_slot = training_slots(dataset)
    dataset.inter_feat.update(Interaction({FUTURE_POSITION_FIELD: torch.as_tensor(row_slot, dtype=torch.long)}))


class FutureIndex(torch.nn.Module):
    """Gathers, on the batch's device, the reversed future of each training row of a batch."""

    def __init__(self, items, end, max_len):
        super().__init__()
        self.max_len = max_len
        self.register_buffer("items", torch.as_tensor(items, dtype=torch.long), persistent=False)
        self.register_buffer("end", torch.as_tensor(end, dtype=torch.long), persistent=False)

    @classmethod
    def from_dataset(cls, dataset, max_len):
        """Build from RecBole's augmented training dataset, whose rows ``tag_training_rows`` tagged."""
        items, end, row_slot = training_slots(dataset)
        feat = dataset.inter_feat
        if FUTURE_POSITION_FIELD not in feat or not np.array_equal(feat[FUTURE_POSITION_FIELD].numpy(), row_slot):
            raise UserError(
                "DisenSeqRec must be built on the training split as recbole_disen.runner.build prepares it "
                "(recbole_disen.future.tag_training_rows tags its rows); this dataset's rows are not tagged for it"
            )
        return cls(items, end, max_len)

    def forward(self, users, row_slot):
        """users, row_slot [B] -> (future [B, F] reversed, left-aligned, 0-padded; length [B])."""
        length = torch.clamp(self.end[users] - row_slot + 1, min=0, max=self.max_len)  # [B]
        offset = torch.arange(self.max_len, device=users.device)  # [F]
        slot = (row_slot + length - 1).unsqueeze(1) - offset  # [B, F], nearest future item last
        real = offset < length.unsqueeze(1)
        future = torch.where(real, self.items[slot.clamp(min=0, max=len(self.items) - 1)], 0)
        return future, length
