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
FLOAT = 4  # scores and attention weights are float32

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


def estimates(config, dataset):
    """[Need] for the run's largest tensors, from the settings and the loaded (not yet augmented) data."""
    max_len = config["MAX_ITEM_LIST_LENGTH"]
    batch_key = max(("train_batch_size", "eval_batch_size"), key=lambda key: config[key])
    batch = config[batch_key]
    needs = []
    if config["MODEL_TYPE"] == ModelType.SEQUENTIAL and not config["benchmark_filename"]:
        feat = dataset.inter_feat
        fields = len(feat.columns) - 1  # every loaded field but the user becomes a list
        rows = len(feat) - feat[dataset.uid_field].nunique()  # one row per interaction after a user's first
        # RecBole's data_augmentation fills a [rows, L] tensor per field, padding included.
        needs.append(Need("MAX_ITEM_LIST_LENGTH", rows * max_len * fields * BYTES, 0,
                          f"sequence rows: {rows} rows x {max_len} x {fields} fields x {BYTES} bytes"))
        if config["n_heads"]:
            needs.append(Need("MAX_ITEM_LIST_LENGTH", 0, batch * config["n_heads"] * max_len**2 * FLOAT,
                              f"attention: {batch} rows x {config['n_heads']} heads x {max_len}^2 x {FLOAT} bytes"))
    intents = config["n_intents"] or 1
    needs.append(Need("n_intents" if config["n_intents"] else batch_key, 0, batch * intents * dataset.item_num * FLOAT,
                      f"item scores: {batch} rows x {intents} intentions x {dataset.item_num} items x {FLOAT} bytes"))
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
