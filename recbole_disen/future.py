"""Each training row's future, built from the training split only (the seq2seq target).

RecBole's augmentation turns a user's items x_0 .. x_{T-1} into rows (x_0..x_{i-1} -> x_i), truncated to
MAX_ITEM_LIST_LENGTH, and leave-one-out keeps a user's last rows for validation and test. So a user's
training rows, in their stored order, have targets at positions 1, 2, ..., m, and the user's training
items are x_0 .. x_m: the first row's history item followed by the training targets. The future of the
row with target x_i is x_i .. x_m, nearest first; encoded reversed so that x_i is the last real item.

The index is built once, in O(interactions): a flat array of every user's training items, where each
user's items start and end, and each row's position. Rows carry their position in the field
``FUTURE_POSITION_FIELD`` (RecBole batches do not carry row ids), so a batch's futures are one gather.
"""

import numpy as np
import torch
from recbole.data.interaction import Interaction

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


class FutureIndex(torch.nn.Module):
    """Gathers, on the batch's device, the reversed future of each training row of a batch."""

    def __init__(self, items, end, max_len):
        super().__init__()
        self.max_len = max_len
        self.register_buffer("items", torch.as_tensor(items, dtype=torch.long), persistent=False)
        self.register_buffer("end", torch.as_tensor(end, dtype=torch.long), persistent=False)

    @classmethod
    def from_dataset(cls, dataset, max_len):
        """Build from RecBole's augmented training dataset and tag its rows with their slot."""
        feat = dataset.inter_feat
        users = feat[dataset.uid_field].numpy()
        first_items = feat[dataset.item_id_list_field][:, 0].numpy()
        targets = feat[dataset.iid_field].numpy()
        items, _, end, row_slot = build_index(users, first_items, targets, dataset.user_num)
        feat.update(Interaction({FUTURE_POSITION_FIELD: torch.as_tensor(row_slot, dtype=torch.long)}))
        return cls(items, end, max_len)

    def forward(self, users, row_slot):
        """users, row_slot [B] -> (future [B, F] reversed, left-aligned, 0-padded; length [B])."""
        length = torch.clamp(self.end[users] - row_slot + 1, min=0, max=self.max_len)  # [B]
        offset = torch.arange(self.max_len, device=users.device)  # [F]
        slot = (row_slot + length - 1).unsqueeze(1) - offset  # [B, F], nearest future item last
        real = offset < length.unsqueeze(1)
        future = torch.where(real, self.items[slot.clamp(min=0, max=len(self.items) - 1)], 0)
        return future, length
