"""Checkpoints that hold tensors and plain data only: they load with ``torch.load(weights_only=True)``,
so loading someone else's file never runs code, and they are written atomically.

RecBole pickles its whole Config object into its checkpoints; torch >= 2.6 refuses to load those by
default. Here the settings are stored as plain data (enums and devices as strings), and every field
is checked against the type this package wrote before anything uses it. A checkpoint also records
which data it was trained on (``fingerprint``), so that ``--resume`` and ``recommend`` can refuse
other data.
"""

import enum
import errno
import hashlib
import os
import pickle
import warnings

import numpy as np
import torch
from recbole.utils.argument_list import dataset_arguments

from recbole_disen import config as disen_config
from recbole_disen import files
from recbole_disen.errors import ResumeRefused, UserError, one_line

FORMAT = "recbole_disen.checkpoint/1"
BEST, LAST = "best", "last"  # the run's best checkpoint and its last epoch (the one to resume from)

# Settings that shape the data a run trains on: a resumed run must use the same ones.
DATA_KEYS = [*dataset_arguments, "eval_args", "numerical_features", "discretization", "drop_duplicate_rows"]
# The early-stopping state (best score, steps without gain) and the best result are measured in these.
STOPPING_KEYS = ["metrics", "topk", "valid_metric", "eval_exclude_seen"]


class BadCheckpoint(ValueError):
    """A field of a checkpoint is not what this package writes there."""


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


def is_plain(value):
    """True for what ``plain`` returns: None, bool, int, float, str, and lists and str-keyed dicts of them."""
    if isinstance(value, dict):
        return all(type(k) is str and is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


def save_atomic(state, path):
    """torch.save to a temporary file in the same folder, then rename it onto ``path``."""
    with files.atomic_open(path) as stream:
        torch.save(state, stream)


def read(path):
    """``load`` on the CPU, checked field by field, with every way a file can be wrong as one UserError line."""
    try:
        state = load(path, "cpu")
        check_state(state)
        return state
    except (FileNotFoundError, PermissionError, IsADirectoryError) as error:
        reason = error.strerror or one_line(error)
    except OSError as error:  # torch reading a cut-short archive can fail with EINVAL on a seek
        reason = error.strerror or one_line(error)
        if error.errno == errno.EINVAL:
            reason = f"the file is damaged or cut short ({reason})"
    except pickle.UnpicklingError:
        reason = "it holds something other than tensors and plain data; it was refused unread and none of it ran"
    except EOFError:
        reason = "the file is empty or cut short"
    except BadCheckpoint as error:
        reason = f"{error}; none of it was used"
    except (ValueError, LookupError, TypeError, AttributeError):  # LookupError: corrupt pickles (Index, Key)
        reason = "it is not a recbole_disen checkpoint"
    except RuntimeError as error:
        text = one_line(error)
        if text.startswith("PytorchStreamReader failed"):  # torch's message for a broken zip archive
            text = f"the file is damaged or cut short ({text.split('. ', 1)[0]})"
        reason = text
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


def _is_int(value, optional=False):
    return (optional and value is None) or (type(value) is int)


def _is_bytes(value):
    return isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1


# Each field's check; "config", "state_dict" and "data" are checked by check_state itself.
FIELDS = {
    "role": lambda v: v in (BEST, LAST),
    "epoch": _is_int,
    "cur_step": _is_int,
    "best_valid_score": lambda v: type(v) in (int, float),
    "best_valid_result": lambda v: isinstance(v, dict) and all(type(x) in (int, float) for x in v.values()),
    "best_epoch": lambda v: _is_int(v, optional=True),
    "history": lambda v: isinstance(v, list) and all(isinstance(h, dict) and is_plain(h) for h in v),
    "optimizer": lambda v: isinstance(v, dict) and isinstance(v.get("param_groups"), list),
    "rng": lambda v: (
        isinstance(v, dict) and _is_bytes(v.get("torch")) and isinstance(v.get("cuda"), list)
        and all(_is_bytes(x) for x in v["cuda"]) and (v.get("loader") is None or _is_bytes(v["loader"]))
    ),
}
FINGERPRINT_FIELDS = {"path": str, "users": int, "items": int, "interactions": int, "sha256": str}


def check_state(state):
    """Raise BadCheckpoint unless every field holds the plain data or tensors this package writes."""
    settings = state.get("config")
    if not isinstance(settings, dict) or not is_plain(settings):
        raise BadCheckpoint("its settings are not plain data")
    for key in ("model", "dataset", "data_path"):
        if type(settings.get(key)) is not str:
            raise BadCheckpoint(f"its setting '{key}' is not a string")
    weights = state.get("state_dict")
    if not isinstance(weights, dict) or not all(
        type(k) is str and isinstance(v, torch.Tensor) for k, v in weights.items()
    ):
        raise BadCheckpoint("its weights are not a dict of named tensors")
    for key, check in FIELDS.items():
        if key in state and not check(state[key]):
            raise BadCheckpoint(f"its field '{key}' is not what recbole_disen writes there")
    data = state.get("data")
    if data is not None and not (
        isinstance(data, dict) and all(type(data.get(k)) is kind for k, kind in FINGERPRINT_FIELDS.items())
    ):
        raise BadCheckpoint("its data fingerprint is not what recbole_disen writes there")


def fingerprint(dataset, config):
    """What identifies the data a run trains on: its sizes and a hash of its ids and times (``check_same_data``
    compares those), and its folder, for the messages."""
    digest = hashlib.sha256()
    feat = dataset.inter_feat
    for field in (dataset.uid_field, dataset.iid_field, dataset.time_field):
        if field is not None and field in feat:
            digest.update(field.encode() + np.ascontiguousarray(feat[field].numpy()).tobytes())
    for field in (dataset.uid_field, dataset.iid_field):
        digest.update("\n".join(map(str, dataset.field2id_token[field])).encode())
    return {
        "path": os.path.realpath(config["data_path"]), "users": int(dataset.user_num),
        "items": int(dataset.item_num), "interactions": int(len(feat)), "sha256": digest.hexdigest(),
    }


def check_same_data(state, data, path, command, error=UserError):
    """``error`` (a UserError) unless ``data`` (this run's fingerprint) is the data the checkpoint was
    trained on (when the checkpoint records it: those of older versions do not). Data is its contents and
    sizes, wherever it lies: a copy elsewhere (a bench folder moved with the data it converted) is the same."""
    stored = state.get("data")
    if stored is None:
        return
    keys = [k for k in FINGERPRINT_FIELDS if k != "path"]
    differ = [k for k in keys if stored[k] != data[k]]
    if differ:
        what = "; ".join(f"{k} {stored[k]} there, {data[k]} here" for k in differ if k != "sha256")
        raise error(
            f"{command}: {path} was trained on other data than {data['path']} ({what or 'same sizes, other contents'}): "
            "use the data it was trained on"
        )


def read_for_resume(path, config):
    """The checkpoint to continue ``config``'s run from, refused (one line) unless it is a run's last
    epoch, with every field in place, of the same model, dataset and data-shaping settings."""
    if os.path.isdir(path):
        raise ResumeRefused(f"--resume: {path} is a folder: pass the run's checkpoint in it whose name ends in '-last.pth'")
    if not os.path.isfile(path):
        raise ResumeRefused(f"--resume: no checkpoint at {path}")
    try:
        state = read(path)
    except UserError as error:
        raise ResumeRefused(f"--resume: {error}") from None
    if state.get("role") == BEST:
        raise ResumeRefused(
            f"--resume: {path} is a run's best checkpoint, which cannot be continued: pass the run's last-epoch "
            "checkpoint, the file next to it whose name ends in '-last.pth'"
        )
    missing = [key for key in (*FIELDS, "data") if key not in state]
    if missing:
        raise ResumeRefused(
            f"--resume: {path} lacks {', '.join(missing)}, so it cannot be continued (was it written by an older recbole_disen?)"
        )
    if not path.endswith("-last.pth"):
        raise ResumeRefused(f"--resume: rename {path} back to its name ending in '-last.pth' (its best checkpoint has the same name without '-last')")
    if state["best_epoch"] is not None and not os.path.isfile(best_checkpoint_of(path)):
        raise ResumeRefused(
            f"--resume: the run's best checkpoint {best_checkpoint_of(path)} is missing, so the continued run "
            "could not test it: put it back, or start a new run"
        )
    current = plain(config.final_config_dict)
    # A setting that a later version added is absent from older checkpoints: its default keeps the old behaviour.
    stored = {**plain(disen_config.model_defaults(config["model"])), **state["config"]}
    keys = ["model", "dataset", *disen_config.model_keys(config["model"]), *DATA_KEYS, *STOPPING_KEYS]
    differ = [key for key in dict.fromkeys(keys) if stored.get(key) != current.get(key)]
    if differ:
        what = "; ".join(f"{key} is {stored.get(key)!r} there and {current.get(key)!r} here" for key in differ[:3])
        raise ResumeRefused(
            f"--resume: {path} was trained with other settings ({what}): resume with the settings it was "
            "trained with, or start a new run"
        )
    wrong = [key for key, value in stored.items() if not _same_kind(value, current.get(key))]
    if wrong:
        raise ResumeRefused(f"--resume: {path} holds settings of the wrong type ({', '.join(wrong[:3])}): it cannot be continued")
    return state


def _same_kind(stored, current):
    """A stored final setting has the type of this run's final setting (RecBole makes lists of metrics and topk)."""
    if stored is None or current is None:
        return True
    return isinstance(stored, list) == isinstance(current, list) and disen_config.is_type(stored, current)


def best_checkpoint_of(last_path):
    """The run's best checkpoint: the '-last.pth' file's name without '-last', in the same folder."""
    return last_path[: -len("-last.pth")] + ".pth"
