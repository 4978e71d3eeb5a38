"""Beyond-accuracy metrics of a test ranking's top-k lists, the same for every model.

RecBole's ItemCoverage, AveragePopularity and GiniIndex are used as they are. TailPercentage is
RecBole's with a vectorised lookup (RecBole tests ``item in list`` for every recommended item, which
takes minutes at Amazon scale). The Shannon entropy is written here: RecBole 1.2.1's ShannonEntropy
divides the entropy by the number of distinct items recommended, which is not the entropy.

Two choices differ from RecBole's own defaults, both to count real items only:
- the number of items is the real items' (RecBole's ``data.num_items`` includes the padding item 0);
- an item's popularity is its number of training interactions, each user's first item included
  (a sequential training split's ``item_counter`` counts targets only, so it leaves that item out), and
  items with none count as 0 (RecBole's Counter leaves them out of the long tail).
"""

import numpy as np
import torch
from recbole.evaluator import DataStruct
from recbole.evaluator import metrics as recbole_metrics


class TailPercentage(recbole_metrics.TailPercentage):
    """RecBole's TailPercentage: the same tail set, one array lookup instead of a list scan per item."""

    def get_tail(self, item_matrix, count_items):
        if self.tail > 1:
            tail_items = [item for item, cnt in count_items.items() if cnt <= self.tail]
        else:
            ordered = sorted(count_items.items(), key=lambda kv: (kv[1], kv[0]))
            tail_items = [item for item, _ in ordered[: max(int(len(ordered) * self.tail), 1)]]
        return np.isin(item_matrix, np.asarray(tail_items, dtype=item_matrix.dtype)).astype(item_matrix.dtype)


def entropy(item_matrix):
    """Shannon entropy (nats) of the recommended items: H = -sum_i p_i ln p_i, where p_i is item i's
    share of all slots of all top-k lists."""
    _, counts = np.unique(item_matrix, return_counts=True)
    p = counts / item_matrix.size
    return float(-(p * np.log(p)).sum())


def train_item_counts(train_data):
    """[item_num] int64: each item's training interactions (targets, plus each user's first item)."""
    dataset = train_data.dataset
    inter = dataset.inter_feat
    history = inter[dataset.iid_field + dataset.config["LIST_SUFFIX"]]  # [R, L]
    first_items = history[inter[dataset.config["ITEM_LIST_LENGTH_FIELD"]] == 1, 0]  # the user's first item
    items = torch.cat([inter[dataset.iid_field], first_items]).long()
    return torch.bincount(items, minlength=dataset.item_num).numpy()


def beyond_accuracy(item_matrix, item_counts, config):
    """{'itemcoverage@k', 'averagepopularity@k', 'giniindex@k', 'tailpercentage@k', 'entropy@k'} of
    [users, k] top-k lists; ``item_counts`` [item_num] as train_item_counts gives (index 0: padding)."""
    if len(item_matrix) == 0:
        return None
    k = item_matrix.shape[1]
    settings = {"topk": [k], "metric_decimal_place": config["metric_decimal_place"], "tail_ratio": config["tail_ratio"]}
    data = DataStruct()
    data.set("rec.items", torch.as_tensor(item_matrix))
    data.set("data.num_items", len(item_counts) - 1)
    data.set("data.count_items", {item: int(n) for item, n in enumerate(item_counts) if item > 0})
    result = {}
    for metric in (recbole_metrics.ItemCoverage, recbole_metrics.AveragePopularity, recbole_metrics.GiniIndex,
                   TailPercentage):
        result.update({key: float(value) for key, value in metric(settings).calculate_metric(data).items()})
    result[f"entropy@{k}"] = round(entropy(item_matrix), config["metric_decimal_place"])
    return result
