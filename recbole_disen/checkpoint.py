"""Checkpoints that hold tensors and plain data only: they load with ``torch.load(weights_only=True)``,
so loading someone else's file never runs code, and they are written atomically.

RecBole pickles its whole Config object into its checkpoints; torch >= 2.6 refuses to load those by
default. Here the settings are stored as plain data (enums and devices as strings).
"""

import enum
import pickle
import warnings

import numpy as np
import torch

from recbole_disen import files
from recbole_disen.errors import UserError, one_line

FORMAT = "recbole_disen.checkpoint/1"


def plain(value):
    """Settings as data that weights_only loading accepts (and JSON can hold)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.name
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def save_atomic(state, path):
    """torch.save to a temporary file in the same folder, then rename it onto ``path``."""
    with files.atomic_open(path) as stream:
        torch.save(state, stream)


def read(path):
    """``load`` on the CPU, with every way a file can be wrong as one UserError line."""
    try:
        return load(path, "cpu")
    except OSError as error:
        reason = error.strerror or one_line(error)
    except pickle.UnpicklingError:
        reason = "it holds something other than tensors and plain data; it was refused unread and none of it ran"
    except EOFError:
        reason = "the file is empty or cut short"
    except (ValueError, LookupError, TypeError, AttributeError):  # LookupError: corrupt pickles (Index, Key)
        reason = "it is not a recbole_disen checkpoint"
    except RuntimeError as error:
        reason = one_line(error)
    raise UserError(f"cannot load checkpoint {path}: {reason}")


def load(path, device="cpu"):
    """A checkpoint written by this package; raises ValueError for anything else.

    torch's warning about files it refuses to unpickle is silenced: the caller reports them in one line.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = torch.load(path, map_location=device, weights_only=True)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a recbole_disen checkpoint")
    return state
