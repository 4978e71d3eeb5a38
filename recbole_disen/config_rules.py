"""What a valid value of each setting is: the type its default implies, ranges, and the forms RecBole
parses itself (eval_args, the interval filters, gpu_id, clip_grad_norm), so that a wrong value stops
the run at the start with what to write instead, not later inside RecBole."""

import inspect
import math
import re

from torch.nn.utils import clip_grad_norm_


def is_type(value, default):
    """Whether ``value`` has the type RecBole expects for a setting whose default is ``default``."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):  # RecBole reads numbers given for strings (gpu_id=0) with str()
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    if isinstance(default, dict):
        return isinstance(value, dict)
    if isinstance(default, list):  # RecBole takes one value for a list (metrics: NDCG, topk: 10)
        items = value if isinstance(value, (list, tuple)) else [value]
        return all(
            isinstance(item, (str, int, float)) and not isinstance(item, bool) and (not default or is_type(item, default[0]))
            for item in items
        )
    return True


def is_number(value):
    """Whether ``value`` is a finite number (an int or a float, not a bool): a float setting's value."""
    return is_type(value, 0.0) and math.isfinite(value)


def is_int(value, low, high=math.inf):
    """Whether ``value`` is an integer (not a bool) in [low, high]."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


GPU = r"(-?\d+|(GPU|MIG)-[0-9A-Fa-f-]+)"  # an index (-1 hides every GPU) or a GPU's or MIG instance's UUID


def is_gpu_id(value):
    """'' (the CPU), one GPU id, or ids separated by commas: what RecBole puts in CUDA_VISIBLE_DEVICES
    (it joins a tuple, which ``--gpu_id=0,1`` reads as, with commas)."""
    if isinstance(value, tuple):
        return bool(value) and all(is_gpu_id(gpu) for gpu in value)
    if isinstance(value, int):
        return not isinstance(value, bool)
    return isinstance(value, str) and re.fullmatch(rf"({GPU}(,{GPU})*)?", value) is not None


# The arguments of torch's clip_grad_norm_ after the parameters, which RecBole passes as **clip_grad_norm.
CLIP_ARGUMENTS = frozenset(list(inspect.signature(clip_grad_norm_).parameters)[1:])


def is_clip_grad_norm(value):
    """None, or keyword arguments of clip_grad_norm_ with a max_norm > 0 (and a number or 'inf' as norm_type)."""
    if value is None:
        return True
    if not (isinstance(value, dict) and "max_norm" in value and set(value) <= CLIP_ARGUMENTS):
        return False
    norm_type = value.get("norm_type", 2.0)
    return (is_type(value["max_norm"], 0.0) and value["max_norm"] > 0
            and (norm_type == "inf" or is_type(norm_type, 0.0)))


def is_intervals(value):
    """None, or intervals as RecBole's ``Dataset._parse_intervals_str`` reads them from ``str(value)``:
    '[A,B]', '[A,B)', '(A,B]' or '(A,B)' with numbers A <= B, several separated by ';'. RecBole drops a
    malformed one with a warning (the filter is lost) and raises on a bound that is not a number."""
    if value is None:
        return True
    if not isinstance(value, (str, list, tuple)):
        return False
    for interval in str(value).split(";"):
        interval = interval.strip()
        bounds = interval[1:-1].split(",")
        if len(interval) < 2 or interval[0] not in "([" or interval[-1] not in ")]" or len(bounds) != 2:
            return False
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except ValueError:
            return False
        if not low <= high:  # NaN fails too
            return False
    return True


INTERVALS = ("None or intervals such as '[5,inf)' or '(0,10];[20,inf)': two numbers A <= B in [ ] or ( ), "
             "several separated by ;")

# RecBole's settings, for every model that has them: (check, what a valid value is).
# The optimisers RecBole builds for these models; its sparse_adam cannot train them (dense gradients).
LEARNERS = ("adam", "adamw", "sgd", "adagrad", "rmsprop")
RECBOLE_RULES = {
    "MAX_ITEM_LIST_LENGTH": (lambda v: is_int(v, 1), "an integer >= 1"),
    "hidden_size": (lambda v: is_int(v, 1), "an integer >= 1"),
    "inner_size": (lambda v: is_int(v, 1), "an integer >= 1"),
    "n_layers": (lambda v: is_int(v, 1), "an integer >= 1"),
    "train_batch_size": (lambda v: is_int(v, 1), "an integer >= 1"),
    "eval_batch_size": (lambda v: is_int(v, 1), "an integer >= 1"),
    "epochs": (lambda v: is_int(v, 0), "an integer >= 0"),
    # RecBole seeds numpy with it, which raises for any other value once the config is built.
    "seed": (lambda v: is_int(v, 0, 2**32 - 1), "an integer in [0, 4294967295] (numpy's range of seeds)"),
    "worker": (lambda v: is_int(v, 0), "an integer >= 0 (processes that load batches; 0: none, the main process loads them)"),
    # RecBole stops when more validations than this fail to improve (a negative value acts as 0, and a
    # resumed run with it counts as already stopped), and validates every eval_step epochs (<= 0: never).
    "stopping_step": (lambda v: is_int(v, 0), "an integer >= 0, the validations without improvement that "
                      "training tolerates (0: it stops at the first; epochs or more: it never stops early)"),
    "eval_step": (lambda v: is_int(v, 0), "an integer >= 0, the epochs between validations "
                  "(0: no validation, the last epoch is tested)"),
    "gpu_id": (is_gpu_id, "'' for the CPU, or GPU ids (indices or UUIDs) separated by commas such as 0 or 0,1"),
    "clip_grad_norm": (is_clip_grad_norm, "None (no clipping) or a dict of torch's clip_grad_norm_ arguments "
                       "such as {'max_norm': 5, 'norm_type': 2}"),
    "user_inter_num_interval": (is_intervals, INTERVALS),
    "item_inter_num_interval": (is_intervals, INTERVALS),
    "entity_kg_num_interval": (is_intervals, INTERVALS),
    "relation_kg_num_interval": (is_intervals, INTERVALS),
    "learning_rate": (lambda v: is_number(v) and v > 0, "a finite number > 0"),
    "metrics": (lambda v: isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(m, str) for m in v)),
                "a metric name or a non-empty list of them, such as ['Recall', 'NDCG']"),
    "topk": (lambda v: is_int(v, 1) or (isinstance(v, list) and v and all(is_int(k, 1) for k in v)),
             "an integer >= 1 or a non-empty list of them, such as [10, 20]"),
    # RecBole warns and trains with Adam for any other name.
    "learner": (lambda v: isinstance(v, str) and v.lower() in LEARNERS, "one of " + ", ".join(LEARNERS)),
    "weight_decay": (lambda v: is_number(v) and v >= 0, "a finite number >= 0"),
    "hidden_dropout_prob": (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "attn_dropout_prob": (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "dropout_prob": (lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    # KD_DAGFM eval()s its teacher's name: only RecBole's two teacher networks are accepted.
    "teacher": (lambda v: v in ("CrossNet", "CIN"), "'CrossNet' or 'CIN'"),
}

# Settings whose rule above accepts a type their default's does not, as RecBole does: a tuple for gpu_id
# (``--gpu_id=0,1``), a list or tuple for an interval (``--user_inter_num_interval=[5,100]``).
TYPED_BY_RULE = {"gpu_id", "user_inter_num_interval", "item_inter_num_interval", "entity_kg_num_interval",
                 "relation_kg_num_interval"}

# DisenSeqRec's settings: (check, what a valid value is).
# DisenSeqRec's settings that act on the seq2seq term alone, so on nothing when s2s_weight is 0.
S2S_SETTINGS = ("s2s_temperature", "lambda", "s2s_mask", "s2s_warmup_steps", "s2s_projection", "s2s_symmetric",
                "share_bias", "future_max_len", "s2s_same_user_negatives")
DISEN_RULES = {
    "n_intents": (lambda v: is_int(v, 1), "an integer >= 1"),
    "lambda": (lambda v: is_number(v) and 0 < v <= 1, "a number in (0, 1]"),
    "s2s_weight": (lambda v: is_number(v) and v >= 0, "a finite number >= 0"),
    "s2s_temperature": (lambda v: is_number(v) and v > 0, "a finite number > 0"),
    "intent_temperature": (lambda v: is_number(v) and v > 0, "a finite number > 0"),
    "aggregation": (lambda v: v in ("max", "logsumexp"), "'max' or 'logsumexp'"),
    "s2s_mask": (lambda v: v in ("loss", "mass"), "'loss' or 'mass'"),
    "score_last": (lambda v: isinstance(v, bool), "True or False"),
    "intent_projection": (lambda v: isinstance(v, bool), "True or False"),
    "causal": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_projection": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_symmetric": (lambda v: isinstance(v, bool), "True or False"),
    "share_bias": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_same_user_negatives": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_warmup_steps": (lambda v: is_type(v, 0) and v >= 0, "an integer >= 0"),
    "future_max_len": (lambda v: v is None or (is_type(v, 0) and v >= 1), "an integer >= 1, or None (~ in a yaml file) for MAX_ITEM_LIST_LENGTH"),
    "n_heads": (lambda v: is_type(v, 0) and v >= 1, "an integer >= 1"),
    "loss_type": (lambda v: v == "CE", "'CE' (DisenSeqRec trains with cross-entropy over all items)"),
    "initializer_range": (lambda v: is_number(v) and v > 0, "a finite number > 0"),
    "layer_norm_eps": (lambda v: is_number(v) and v > 0, "a finite number > 0"),
    "hidden_act": (lambda v: v in ("gelu", "relu", "swish", "tanh", "sigmoid"), "one of gelu, relu, swish, tanh, sigmoid"),
}

# Settings of this package for every model: (check, what a valid value is).
OVERALL_RULES = {
    "eval_exclude_seen": (lambda v: isinstance(v, bool), "True or False"),
    "padding_free": (lambda v: isinstance(v, bool), "True or False"),
    "drop_duplicate_rows": (lambda v: isinstance(v, bool), "True or False"),
    "keep_freed_memory": (lambda v: isinstance(v, bool), "True or False"),
}

# RecBole 1.2.1 gives the keys an eval_args leaves out these values (Config._set_default_parameters):
# an eval_args replaces the whole one of the yaml files, so a sequential model's order 'TO' is lost.
RECBOLE_EVAL_ARGS = {"split": {"RS": [0.8, 0.1, 0.1]}, "order": "RO", "group_by": "user", "mode": "full"}
SPLITS = "{'LS': 'valid_and_test'} (leave-one-out), {'RS': [0.8, 0.1, 0.1]} (ratios) or {'TS': [0.8, 0.1, 0.1]} (by time)"
LEAVE_ONE_OUT = ("valid_and_test", "valid_only", "test_only")


def _ratios(value):
    return isinstance(value, list) and len(value) == 3 and all(is_type(r, 0.0) and r >= 0 for r in value) and value[0] > 0


def _split_problem(split, group_by):
    """Why RecBole's Dataset.build cannot split by ``split``, or None."""
    if not (isinstance(split, dict) and len(split) == 1):
        return f"split must be one method: {SPLITS}, got {split!r}"
    (method, value), = split.items()
    if method == "LS" and value not in LEAVE_ONE_OUT:
        return f"split LS must be one of {', '.join(LEAVE_ONE_OUT)}, got {value!r}"
    if method in ("RS", "TS") and not _ratios(value):
        return f"split {method} must be 3 ratios >= 0 (training, validation, test) such as [0.8, 0.1, 0.1], got {value!r}"
    if method not in ("LS", "RS", "TS"):
        return f"split {method!r} is not a method RecBole has: use {SPLITS}"
    if method == "RS" and not (group_by is None or group_by == "user" or str(group_by).lower() == "none"):
        return f"group_by must be 'user' or None, got {group_by!r}"
    return None


def eval_args_problem(eval_args, sequential, pre_split):
    """Why RecBole cannot split and evaluate with ``eval_args`` (the setting as given), or None: the
    split (ignored for ``pre_split`` data, benchmark_filename's files), the order (a ``sequential``
    model's must be 'TO'), and the evaluation mode of each phase."""
    if not isinstance(eval_args, dict):
        return f"must be a dict such as {{'split': {{'LS': 'valid_and_test'}}, 'order': 'TO', 'mode': 'full'}}, got {eval_args!r}"
    args = {**RECBOLE_EVAL_ARGS, **eval_args}
    problem = None if pre_split else _split_problem(args["split"], args["group_by"])
    if problem:
        return problem
    order = args["order"]
    if order not in ("RO", "TO"):
        return f"order must be 'TO' (by time) or 'RO' (random), got {order!r}"
    if sequential and order != "TO":
        left_out = "" if "order" in eval_args else " (RecBole's own for an eval_args that leaves order out)"
        return (f"order {order!r}{left_out} cannot be used: a sequential model orders each user's items by time, "
                "so give 'order': 'TO' in eval_args")
    mode = args["mode"]
    modes = [mode[phase] for phase in ("valid", "test") if phase in mode] if isinstance(mode, dict) else [mode]
    for each in modes:
        if not (each in ("full", "labeled") or (isinstance(each, str) and re.fullmatch(r"(uni|pop)\d+", each))):
            return (f"mode must be 'full' (rank all items), 'labeled', 'uniN' or 'popN' (N sampled negatives), "
                    f"or a dict of those for 'valid' and 'test', got {mode!r}")
    return None
