"""Every workaround for RecBole 1.2.1 on today's numpy, pandas and torch, each with its reason.

Nothing here runs at import time; the runner applies what it needs when it needs it. Four live where
they must act, and are listed here with their reasons:
- ``trainer.DisenTrainer.load_best`` and its ``evaluate``: RecBole's ``evaluate(load_best_model=True)``
  calls ``torch.load`` on a pickle, which torch >= 2.6 refuses (``weights_only``) and which would run code
  from a file; the trainer loads the best weights itself, field by field (``checkpoint.read``).
- ``metrics.TailPercentage``: RecBole's scans a list for every recommended item (minutes at Amazon scale).
- ``metrics.entropy``: RecBole's ShannonEntropy divides the entropy by the number of distinct items.
- ``config.RECBOLE_CODE_KEYS``: settings RecBole reads in its code but declares in no yaml file, which
  the check of unknown settings must know.
"""

import contextlib
import copy
import os
import warnings

import numpy as np
import torch
from recbole.data.dataset import Dataset
from recbole.evaluator import Collector
from recbole.utils import FeatureType

# numpy 2 removed np.float_, np.complex_ and np.unicode_, so RecBole's Config.compatibility_settings
# raises on its first line; RecBole's own metrics (NDCG, MRR, ...) still use np.float and np.bool.
NUMPY_ALIASES = {
    "bool": np.bool_, "int": np.int_, "float": np.float64, "complex": np.complex128,
    "object": np.object_, "str": np.str_, "long": np.int_, "unicode": np.str_,
}


def set_numpy_aliases():
    """The aliases that RecBole 1.2.1 sets itself, without the names numpy 2 no longer has."""
    for name, value in NUMPY_ALIASES.items():
        setattr(np, name, value)


def disable_anomaly_detection():
    """Importing recbole.model.sequential_recommender runs sine.py, which calls
    torch.autograd.set_detect_anomaly(True) at import: every model then trains about 23 times slower
    on a GPU (measured: SASRec on Beauty, 92.6 s against 4.0 s an epoch on an H200). Call this after
    any RecBole model import, before training."""
    torch.autograd.set_detect_anomaly(False)


# Warnings raised inside RecBole 1.2.1's own code on today's torch, which a user can do nothing about:
# its Trainer builds ``torch.cuda.amp.GradScaler(...)`` every epoch (a FutureWarning since torch 2.4),
# and its Dataset turns read-only numpy arrays into tensors (a UserWarning on every load).
RECBOLE_WARNINGS = (
    (FutureWarning, r"`torch\.cuda\.amp\.(GradScaler|autocast)"),
    (UserWarning, r"The given NumPy array is not writable"),
)


def neg_sample_args_as_input(stored):
    """A stored run's ``train_neg_sample_args`` as RecBole takes it back: RecBole expands ``~`` into a
    dict with distribution 'none', which it then refuses as input for CE models."""
    if isinstance(stored, dict) and stored.get("distribution") in (None, "none", "None"):
        return None
    return stored


def data_path_as_input(stored):
    """A stored run's ``data_path`` as RecBole takes it back: RecBole stores it joined with the dataset
    name, and joins them again when it reads it."""
    return os.path.dirname(stored)


@contextlib.contextmanager
def quiet_recbole_warnings():
    """Silence RECBOLE_WARNINGS (only those) for the duration of a run."""
    with warnings.catch_warnings():
        for category, message in RECBOLE_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


def fill_nan(dataset):
    """RecBole's ``Dataset._fill_nan``, made to work on pandas 3.

    RecBole fills NaN with ``feat[field].fillna(..., inplace=True)``: under pandas 3's copy-on-write
    that writes to a temporary copy and silently leaves the NaN in place.
    """
    for feat_name in dataset.feat_name_list:
        feat = getattr(dataset, feat_name)
        for field in feat:
            ftype = dataset.field2type[field]
            if ftype == FeatureType.TOKEN:
                feat[field] = feat[field].fillna(value=0)
            elif ftype == FeatureType.FLOAT:
                feat[field] = feat[field].fillna(value=feat[field].mean())
            else:
                dtype = np.int64 if ftype == FeatureType.TOKEN_SEQ else np.float64
                feat[field] = feat[field].apply(
                    lambda x: np.array([], dtype=dtype) if isinstance(x, float) else x
                )


@contextlib.contextmanager
def pandas3_fill_nan():
    """Every RecBole dataset class built in the block fills missing values with ``fill_nan`` (the runner
    builds every dataset in one: sequential, horizon, and those RecBole's ``create_dataset`` picks for
    general, context and knowledge models). RecBole's method is put back when the block ends."""
    original = Dataset._fill_nan
    Dataset._fill_nan = fill_nan
    try:
        yield
    finally:
        Dataset._fill_nan = original



class CpuCollector(Collector):
    """RecBole's Collector, whose ``get_data_struct`` moves everything it holds to the CPU with ``.cpu()``:
    the item-based metrics' ``data.num_items`` (an int) and ``data.count_items`` (a Counter) then raise
    AttributeError at the first validation (ItemCoverage, GiniIndex, AveragePopularity, TailPercentage,
    ShannonEntropy; RecBole issues #2131 and #2191, open). Those are set aside while RecBole's runs, and
    handed to the struct it returns."""

    def get_data_struct(self):
        data = self.data_struct._data_dict
        kept = {key: value for key, value in data.items() if not torch.is_tensor(value)}
        for key in kept:
            del data[key]
        returned = super().get_data_struct()
        data.update(kept)
        returned._data_dict.update(copy.deepcopy(kept))
        return returned
