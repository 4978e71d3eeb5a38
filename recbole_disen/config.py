"""RecBole's Config with this plugin's yaml files, and settings that fail loudly when wrong.

As in RecBole-GNN: ``get_model`` knows this plugin's models and falls back to RecBole for every other model,
so baselines run through the same runner with the same fixes.

No setting is ever run as code. RecBole 1.2.1 ``eval()``s every string given on the command line or
in a config_dict and reads yaml files with PyYAML's FullLoader (which builds Python objects from
tags); here strings are read with ``ast.literal_eval`` and yaml with the safe loader, which give the
same values for every plain number, list, dict, bool, None and string.
"""

import difflib
import functools
import glob
import importlib
import importlib.util
import os
import pkgutil
import re
from importlib import resources

import recbole
import recbole.trainer
import yaml
from recbole.config import Config
from recbole.evaluator import metric_types
from recbole.utils import EvaluatorType, InputType, ModelType
from recbole.utils import get_model as recbole_get_model

from recbole_disen import compat, horizon
from recbole_disen.errors import UserError, one_line
from recbole_disen.literal import literal

# Settings that RecBole 1.2.1 reads in its code but declares in none of its yaml files.
RECBOLE_CODE_KEYS = {
    "dataset", "model", "device", "encoding", "ip", "port", "nproc", "offset", "world_size",
    "local_rank", "single_spec", "verbose", "tail_ratio", "token_num_threshold", "use_filter",
    "valid_neg_sample_args", "test_neg_sample_args", "xgb_early_stopping_rounds",
}


def properties_dir():
    """The plugin's ``properties`` folder: packaged as ``recbole_disen.properties`` when installed,
    the top-level ``properties/`` when this module is imported from a source checkout."""
    try:
        return str(resources.files("recbole_disen.properties"))
    except ModuleNotFoundError:
        return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "properties")


# This plugin's models: name -> the module that defines the class of that name.
PLUGIN_MODELS = {"DisenSeqRec": "recbole_disen.model"}


def recbole_model_files():
    """The module names of RecBole's models (``sasrec``, ``bert4rec``, ...), found without importing them:
    importing a model module imports its optional packages (and some switch on anomaly detection)."""
    model_package = importlib.import_module("recbole.model")
    names = set()
    for package in pkgutil.iter_modules(model_package.__path__):
        if package.ispkg:
            location = importlib.util.find_spec(f"recbole.model.{package.name}").submodule_search_locations
            names |= {module.name for module in pkgutil.iter_modules(location)}
    return names - {"__init__"}


def get_model(name):
    """A model of this plugin, or any RecBole model by name (with RecBole's import-time anomaly mode undone)."""
    if name in PLUGIN_MODELS:
        return getattr(importlib.import_module(PLUGIN_MODELS[name]), name)
    names = recbole_model_files()
    if name.lower() not in names:  # checked first: RecBole's own lookup imports optional packages
        hint = difflib.get_close_matches(name.lower(), names | {model.lower() for model in PLUGIN_MODELS}, n=1)
        did_you_mean = f" (did you mean a model file '{hint[0]}'?)" if hint else ""
        plugin_models = ", ".join(PLUGIN_MODELS)
        raise UserError(f"unknown model '{name}'{did_you_mean}: use {plugin_models} or a RecBole model name such as SASRec")
    try:
        model_class = recbole_get_model(name)
    except (ValueError, ModuleNotFoundError) as error:
        raise UserError(f"cannot load model '{name}': {one_line(error)} (install what it needs, or check the name's spelling)") from None
    compat.disable_anomaly_detection()
    return model_class


def _yaml_keys(pattern):
    keys = set()
    for path in glob.glob(pattern, recursive=True):
        with open(path, encoding="utf-8") as f:
            content = yaml.safe_load(f)
        if isinstance(content, dict):
            keys |= set(content)
    return keys


@functools.cache
def known_keys(model=None):
    """The setting names that RecBole 1.2.1 or this plugin understands for ``model``: the overall, data
    and quick-start settings and that model's own; with no model, every model's."""
    recbole_props = os.path.join(os.path.dirname(recbole.__file__), "properties")
    model_files = "*" if model is None else model
    return frozenset(
        _yaml_keys(os.path.join(recbole_props, "overall.yaml"))
        | _yaml_keys(os.path.join(recbole_props, "dataset", "**", "*.yaml"))
        | _yaml_keys(os.path.join(recbole_props, "quick_start_config", "*.yaml"))
        | _yaml_keys(os.path.join(recbole_props, "model", f"{model_files}.yaml"))
        | _yaml_keys(os.path.join(properties_dir(), "overall.yaml"))
        | _yaml_keys(os.path.join(properties_dir(), "dataset", "**", "*.yaml"))
        | _yaml_keys(os.path.join(properties_dir(), "model", f"{model_files}.yaml"))
        | RECBOLE_CODE_KEYS
    )


def _check_trainable(model):
    """The runner trains with RecBole's standard Trainer and no negative sampling: refuse, at the start,
    the models that need another trainer or sampled negative pairs (they fail later, with a traceback)."""
    model_class = get_model(model)
    if hasattr(recbole.trainer, f"{model}Trainer") or getattr(model_class, "type", None) == ModelType.KNOWLEDGE:
        raise UserError(f"{model} needs its own RecBole trainer, which this runner does not use; "
                        "run it with RecBole's run_recbole, or choose a model trained with CE (SASRec, BERT4Rec, ...)")
    if getattr(model_class, "input_type", None) == InputType.PAIRWISE:
        raise UserError(f"{model} trains on sampled negative pairs, which this runner does not draw; "
                        "run it with RecBole's run_recbole, or choose a model trained with CE (SASRec, BERT4Rec, ...)")


def foreign_keys(model, keys):
    """The known ``keys`` that ``model`` certainly does not read, sorted. RecBole's own models read
    settings their yaml files do not declare, so only two kinds are certain: for a plugin model, a
    setting of other models; for a RecBole model, a setting only this package's models have."""
    if model in PLUGIN_MODELS:
        return sorted(key for key in keys if key in known_keys() and key not in known_keys(model))
    return sorted(key for key in keys if key in plugin_model_keys())


@functools.cache
def plugin_model_keys():
    """The settings only this package's models have (in no RecBole yaml and not in its overall.yaml)."""
    recbole_props = os.path.join(os.path.dirname(recbole.__file__), "properties")
    return frozenset(
        _yaml_keys(os.path.join(properties_dir(), "model", "*.yaml"))
        - _yaml_keys(os.path.join(recbole_props, "**", "*.yaml"))
        - _yaml_keys(os.path.join(properties_dir(), "overall.yaml"))
    )


@functools.cache
def model_keys(model):
    """The settings of a model's own yaml file (this package's or RecBole's): its architecture."""
    return tuple(sorted(
        _yaml_keys(os.path.join(properties_dir(), "model", f"{model}.yaml"))
        | _yaml_keys(os.path.join(os.path.dirname(recbole.__file__), "properties", "model", f"{model}.yaml"))
    ))


@functools.cache
def model_defaults(model):
    """The values of this package's yaml file for ``model`` (empty for RecBole's own models)."""
    path = os.path.join(properties_dir(), "model", f"{model}.yaml")
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=yaml_loader()) or {}


def package_defaults(model, dataset):
    """The values this package's yaml files give a run of ``model`` on ``dataset``: its overall.yaml,
    then its dataset and model files (RecBole's own defaults come with its version)."""
    values = {}
    for path in (os.path.join(properties_dir(), "overall.yaml"), os.path.join(properties_dir(), "dataset", f"{dataset}.yaml")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                values.update(yaml.load(f, Loader=yaml_loader()) or {})
    return {**values, **model_defaults(model)}


@functools.cache
def yaml_loader():
    """PyYAML's safe loader plus RecBole's resolver that reads ``1e-3`` as a float (not a string)."""

    class SafeRecBoleLoader(yaml.SafeLoader):
        pass

    float_tag = "tag:yaml.org,2002:float"
    # RecBole's method only adds its regex to FullLoader (as each RecBole Config does); the last one added is it.
    resolvers = Config._build_yaml_loader(None).yaml_implicit_resolvers["1"]
    recbole_float = [regexp for tag, regexp in resolvers if tag == float_tag][-1]
    SafeRecBoleLoader.add_implicit_resolver(float_tag, recbole_float, list("-+0123456789."))
    return SafeRecBoleLoader


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


def _is_int(value, low):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _folder_problem(path):
    """Why ``path`` cannot be a folder to write into (it or a parent is a file), or None."""
    if not isinstance(path, str) or not path:
        return "it must be a folder path"
    current = os.path.abspath(path)
    while not os.path.exists(current):
        current = os.path.dirname(current)
    if not os.path.isdir(current):
        return f"{current} is a file, not a folder"
    return None


# RecBole's settings, for every model that has them: (check, what a valid value is).
RECBOLE_RULES = {
    "MAX_ITEM_LIST_LENGTH": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "hidden_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "inner_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "n_layers": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "train_batch_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "eval_batch_size": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "epochs": (lambda v: _is_int(v, 0), "an integer >= 0"),
    "learning_rate": (lambda v: is_type(v, 0.0) and v > 0, "a number > 0"),
    "weight_decay": (lambda v: is_type(v, 0.0) and v >= 0, "a number >= 0"),
    "hidden_dropout_prob": (lambda v: is_type(v, 0.0) and 0 <= v <= 1, "a number in [0, 1]"),
    "attn_dropout_prob": (lambda v: is_type(v, 0.0) and 0 <= v <= 1, "a number in [0, 1]"),
    "dropout_prob": (lambda v: is_type(v, 0.0) and 0 <= v <= 1, "a number in [0, 1]"),
    # KD_DAGFM eval()s its teacher's name: only RecBole's two teacher networks are accepted.
    "teacher": (lambda v: v in ("CrossNet", "CIN"), "'CrossNet' or 'CIN'"),
}

# RecBole loads a pickled dataset or dataloaders from these paths (and so runs any code they hold).
PICKLE_SETTINGS = {"save_dataset": False, "save_dataloaders": False, "dataset_save_path": None,
                   "dataloaders_save_path": None}


# DisenSeqRec's settings: (check, what a valid value is).
DISEN_RULES = {
    "n_intents": (lambda v: _is_int(v, 1), "an integer >= 1"),
    "lambda": (lambda v: is_type(v, 0.0) and 0 < v <= 1, "a number in (0, 1]"),
    "s2s_weight": (lambda v: is_type(v, 0.0) and v >= 0, "a number >= 0"),
    "s2s_temperature": (lambda v: is_type(v, 0.0) and v > 0, "a number > 0"),
    "intent_temperature": (lambda v: is_type(v, 0.0) and v > 0, "a number > 0"),
    "aggregation": (lambda v: v in ("max", "logsumexp"), "'max' or 'logsumexp'"),
    "s2s_mask": (lambda v: v in ("loss", "mass"), "'loss' or 'mass'"),
    "score_last": (lambda v: isinstance(v, bool), "True or False"),
    "causal": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_projection": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_symmetric": (lambda v: isinstance(v, bool), "True or False"),
    "share_bias": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_same_user_negatives": (lambda v: isinstance(v, bool), "True or False"),
    "s2s_warmup_steps": (lambda v: is_type(v, 0) and v >= 0, "an integer >= 0"),
    "future_max_len": (lambda v: v is None or (is_type(v, 0) and v >= 1), "an integer >= 1, or ~ for MAX_ITEM_LIST_LENGTH"),
    "n_heads": (lambda v: is_type(v, 0) and v >= 1, "an integer >= 1"),
    "loss_type": (lambda v: v == "CE", "'CE' (DisenSeqRec trains with cross-entropy over all items)"),
    "initializer_range": (lambda v: is_type(v, 0.0) and v > 0, "a number > 0"),
    "layer_norm_eps": (lambda v: is_type(v, 0.0) and v > 0, "a number > 0"),
    "hidden_act": (lambda v: v in ("gelu", "relu", "swish", "tanh", "sigmoid"), "one of gelu, relu, swish, tanh, sigmoid"),
}

# Settings of this package for every model: (check, what a valid value is).
OVERALL_RULES = {
    "eval_exclude_seen": (lambda v: isinstance(v, bool), "True or False"),
    "padding_free": (lambda v: isinstance(v, bool), "True or False"),
    "drop_duplicate_rows": (lambda v: isinstance(v, bool), "True or False"),
    "keep_freed_memory": (lambda v: isinstance(v, bool), "True or False"),
}


def _check_files(settings, model, dataset):
    """No pickled dataset is saved or loaded, and checkpoint_dir can be a folder."""
    for key, default in PICKLE_SETTINGS.items():
        if settings.get(key, default) != default:
            raise UserError(
                f"setting '{key}' is not supported here: RecBole would save or load a pickled dataset, and loading "
                "a pickle can run code; leave it unset"
            )
    folder = settings.get("checkpoint_dir")
    problem = _folder_problem(folder)
    if problem:
        raise UserError(f"checkpoint_dir {folder!r} cannot hold checkpoints: {problem}; choose another --checkpoint_dir")
    # RecBole's data_preparation and create_dataset load these files whenever they exist.
    names = [f"{dataset}-for-{model}-dataloader.pth"] + [
        f"{dataset}-{kind}.pth" for kind in ("Dataset", "SequentialDataset", "KnowledgeBasedDataset", f"{model}Dataset")
    ]
    for path in (os.path.join(folder, name) for name in names):
        if os.path.exists(path):
            raise UserError(
                f"{path} is a pickled dataset that RecBole would load, and loading a pickle can run code: "
                "move it out of checkpoint_dir (or choose another --checkpoint_dir)"
            )


class DisenConfig(Config):
    """RecBole's Config plus ``properties/`` of this plugin; command-line settings come in as a dict.

    ``cmd_config_dict`` takes the place of RecBole's own reading of ``sys.argv`` (our CLI parses the
    command line itself), with the same precedence: command line > config_dict > config files.
    """

    def __init__(self, model=None, dataset=None, config_file_list=None, config_dict=None, cmd_config_dict=None):
        self._cmd_args = dict(cmd_config_dict or {})
        for path in config_file_list or []:
            if not os.path.isfile(path):
                raise UserError(f"config file not found: {path}")
        super().__init__(model, dataset, config_file_list, config_dict)
        self._check_final()

    def compatibility_settings(self):
        compat.set_numpy_aliases()

    def _build_yaml_loader(self):
        return yaml_loader()

    def _convert_config_dict(self, config_dict):
        return {key: literal(value) if isinstance(value, str) else value for key, value in config_dict.items()}

    def _load_config_files(self, file_list):
        try:
            return super()._load_config_files(file_list)
        except yaml.constructor.ConstructorError as error:
            raise UserError(
                f"a config file holds a YAML tag that is not plain data ({' '.join(str(error).split())}); "
                "config files are read as data and never run: use plain values"
            ) from None
        except yaml.YAMLError as error:
            raise UserError(f"a config file is not valid YAML: {one_line(error)}") from None

    def _load_cmd_line(self):
        return self._convert_config_dict(self._cmd_args)

    def _get_model_and_dataset(self, model, dataset):
        model = model or self.external_config_dict.get("model", "DisenSeqRec")
        dataset = dataset or self.external_config_dict.get("dataset", "ml-100k")
        model_class = get_model(model) if isinstance(model, str) else model
        return model_class.__name__, model_class, dataset

    def _load_internal_config_dict(self, model, model_class, dataset):
        super()._load_internal_config_dict(model, model_class, dataset)
        root = properties_dir()
        for path in (
            os.path.join(root, "overall.yaml"),  # under RecBole's dataset yaml, over its overall.yaml
            os.path.join(os.path.dirname(recbole.__file__), "properties", "dataset", f"{dataset}.yaml"),
            os.path.join(root, "model", f"{model}.yaml"),
            os.path.join(root, "dataset", f"{dataset}.yaml"),
        ):
            if os.path.isfile(path):
                self._update_internal_config_dict(path)
        self._validate(model)

    def _validate(self, model):
        """Unknown names, wrong types and out-of-range values, before RecBole acts on any of them."""
        user = self.external_config_dict
        known = known_keys()
        # Settings named for this run (a config file may serve several models) that the model cannot read.
        for key in foreign_keys(model, {**self.variable_config_dict, **self.cmd_config_dict}):
            owner = "other RecBole models have it" if model in PLUGIN_MODELS else f"{', '.join(PLUGIN_MODELS)} has it"
            raise UserError(f"setting '{key}' is not one of {model}'s ({owner}, {model} would ignore it); "
                            "remove it (in the bench: --set MODEL:KEY=VALUE sets it for one model)")
        for key in user:
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise UserError(f"unknown setting '{key}'{did_you_mean}; see properties/model/DisenSeqRec.yaml and RecBole's docs for the settings")
        merged = {**self.internal_config_dict, **user}
        for key, value in user.items():
            default = self.internal_config_dict.get(key)
            if default is not None and value is not None and not is_type(value, default):
                raise UserError(f"setting '{key}' must be of type {type(default).__name__} like its default {default!r}, got {value!r}")
        rules = [(key, rule) for key, rule in RECBOLE_RULES.items() if merged.get(key) is not None or key in user]
        rules += OVERALL_RULES.items()
        if model == "DisenSeqRec":
            rules += DISEN_RULES.items()
        for key, (check, expected) in rules:
            if not check(merged.get(key)):
                raise UserError(f"setting '{key}' must be {expected}, got {merged.get(key)!r}")
        if model == "DisenSeqRec" and merged.get("s2s_mask") == "mass" and merged.get("n_intents") == 1:
            raise UserError(
                "s2s_mask 'mass' needs n_intents >= 2: with one intention every pair holds all the mass, "
                "so nothing is masked (use s2s_mask 'loss')"
            )
        horizon.check_settings(model, merged)
        if merged.get("loss_type") not in (None, "CE"):
            raise UserError(
                f"loss_type {merged['loss_type']!r} is not supported: this runner trains every model with CE over "
                "all items and no negative sampling (README, 'Baselines, on identical terms'); use loss_type CE, "
                "or a model that supports it"
            )
        _check_trainable(model)
        if merged.get("loss_type") == "CE" and merged.get("train_neg_sample_args") not in (None, "None"):
            raise UserError(
                "loss_type CE scores all items and takes no negative sampling: set train_neg_sample_args to ~"
            )
        _check_files(merged, model, self.dataset)

    def _check_final(self):
        """Settings that RecBole only uses after an epoch of training, checked on its final values."""
        if self["horizon"]:
            return  # the horizon's own valid_metric, checked with the setting (horizon.check_settings)
        metrics = [metric.lower() for metric in self["metrics"]]
        name, at, k = str(self["valid_metric"]).lower().partition("@")
        per_k = metric_types.get(name) == EvaluatorType.RANKING and name != "gauc"  # gauc has no @k
        if name not in metrics or bool(at) != per_k or (at and not (re.fullmatch(r"\d+", k) and int(k) in self["topk"])):
            raise UserError(
                f"valid_metric {self['valid_metric']!r} is not computed: use one of metrics {self['metrics']} "
                f"as NAME@K with K in topk {self['topk']} (or NAME alone for value metrics)"
            )
