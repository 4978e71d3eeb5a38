"""What a run would allocate, checked against the memory it has before any of it is allocated.

The estimates are lower bounds of a few large tensors whose size the settings fix; a run that
fails the check would run out of memory, only later (RecBole builds the sequence rows before the
model, and the per-batch tensors appear in the first step).
"""

import os
from collections import namedtuple

import torch
from recbole.utils import ModelType

from recbole_disen.errors import UserError

BYTES = 8  # RecBole's sequence lists are int64 (ids) or float64 (times, ratings)
FLOAT = 4  # scores, attention weights and model weights are float32
COPIES = 4  # a trained weight is held with its gradient and Adam's two moments

# One large allocation: the setting that sizes it, its bytes on the host and on the device, what it is.
Need = namedtuple("Need", "setting host device what")


def available_bytes(device):
    """Free memory of ``device``: the GPU's free memory, or the host's MemAvailable."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _held_out_per_user(config):
    """The sequence rows of each user that are not training rows: its validation and test rows."""
    if config["horizon"]:
        return 2 * config["horizon"]
    return {"valid_and_test": 2, "valid_only": 1, "test_only": 1}.get(config["eval_args"]["split"].get("LS"), 0)


def _largest_batch(config, rows, users):
    """(setting, rows, note) of the larger of the run's batches. A batch holds at most the rows of its
    split: the training rows for train_batch_size, and with leave-one-out or the horizon (one row a user
    per split) the users for eval_batch_size; ``rows`` bounds both otherwise."""
    held = _held_out_per_user(config) if users else 0
    limits = {"train_batch_size": (rows - held * users, "the training rows"),
              "eval_batch_size": (users if held else rows, "the rows of a validation or test split")}
    key = max(limits, key=lambda setting: min(config[setting], limits[setting][0]))
    limit, what = limits[key]
    return key, min(config[key], limit), f" (all {what})" if config[key] > limit else ""


def _driver(factors):
    """The setting of the largest factor of a product: the one whose value makes the part large."""
    return max(factors, key=factors.get)


def estimates(config, dataset):
    """[Need] for the run's largest tensors, from the settings and the loaded (not yet augmented) data."""
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    feat = dataset.inter_feat
    sequential = config["MODEL_TYPE"] == ModelType.SEQUENTIAL and not config["benchmark_filename"]
    users = feat[dataset.uid_field].nunique() if sequential else 0
    rows = len(feat) - users  # a sequential model's: one per interaction after a user's first; else interactions
    batch_key, batch, note = _largest_batch(config, rows, users)
    needs = []
    if sequential:
        fields = len(feat.columns) - 1  # every loaded field but the user becomes a list
        # RecBole's data_augmentation fills a [rows, L] tensor per field, padding included.
        needs.append(Need("MAX_ITEM_LIST_LENGTH", rows * max_len * fields * BYTES, 0,
                          f"sequence rows: {rows} rows x {max_len} x {fields} fields x {BYTES} bytes"))
        if config["n_heads"]:
            heads = config["n_heads"]
            setting = _driver({batch_key: batch, "n_heads": heads, "MAX_ITEM_LIST_LENGTH": max_len**2})
            needs.append(Need(setting, 0, batch * heads * max_len**2 * FLOAT,
                              f"attention: {batch} rows{note} x {heads} heads x {max_len}^2 x {FLOAT} bytes"))
    if config["hidden_size"] and config["n_heads"]:  # a Transformer's: its item embeddings are hidden_size wide
        hidden, inner, layers = config["hidden_size"], config["inner_size"] or 0, config["n_layers"] or 0
        # the item embedding and each layer's attention matrices, and each layer's feed-forward ones
        parts = {"hidden_size": dataset.item_num * hidden + layers * 4 * hidden * hidden,
                 "inner_size": layers * 2 * hidden * inner}  # the feed-forward part, the one inner_size sizes
        weights, setting = sum(parts.values()), max(parts, key=parts.get)
        needs.append(Need(setting, 0, weights * COPIES * FLOAT,
                          f"weights: {weights} x {COPIES} copies (weight, gradient, Adam's two moments) x {FLOAT} bytes"))
    intents = config["n_intents"] or 1
    setting = _driver({batch_key: batch, "n_intents": intents}) if config["n_intents"] else batch_key
    needs.append(Need(setting, 0, batch * intents * dataset.item_num * FLOAT,
                      f"item scores: {batch} rows{note} x {intents} intentions x {dataset.item_num} items x {FLOAT} bytes"))
    return needs


def check(config, dataset):
    """UserError (one line, naming the setting to lower) when the run cannot fit in memory."""
    needs = estimates(config, dataset)
    device = config["device"]
    host = available_bytes(torch.device("cpu"))
    if device.type == "cuda":
        pools = [("memory", host, [(n, n.host) for n in needs]),
                 (f"memory on {device}", available_bytes(device), [(n, n.device) for n in needs])]
    else:
        pools = [("memory", host, [(n, n.host + n.device) for n in needs])]
    for where, free, sizes in pools:
        total = sum(size for _, size in sizes)
        if total > free:
            largest = max(sizes, key=lambda pair: pair[1])[0]
            raise UserError(
                f"{largest.setting} {config[largest.setting]} cannot fit: the run needs at least {_gib(total)} of "
                f"{where} (the largest part, {largest.what}) but {_gib(free)} is free: lower {largest.setting}"
            )


def _gib(size):
    return f"{size / 2**30:.1f} GiB"
