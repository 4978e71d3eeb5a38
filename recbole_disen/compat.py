"""Every workaround for RecBole 1.2.1 on today's numpy, pandas and torch, each with its reason.

Nothing here runs at import time; the runner applies what it needs when it needs it.
"""

import contextlib
import warnings

import numpy as np
import torch
from recbole.data.dataset import Dataset, SequentialDataset
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


class CompatSequentialDataset(SequentialDataset):
    """RecBole's SequentialDataset with missing-value filling that works on pandas 3 (``fill_nan``)."""

    _fill_nan = fill_nan


@contextlib.contextmanager
def pandas3_fill_nan():
    """Every RecBole dataset class built in the block fills missing values with ``fill_nan``: for the
    datasets the runner takes from RecBole's ``create_dataset`` (general, context, knowledge models),
    whose class RecBole picks. RecBole's method is put back when the block ends."""
    original = Dataset._fill_nan
    Dataset._fill_nan = fill_nan
    try:
        yield
    finally:
        Dataset._fill_nan = original

