"""RecBole's Config with this plugin's yaml files, and settings that fail loudly when wrong.

Models are found by ``models.get_model`` (this plugin's, then RecBole's), so baselines run through the
same runner with the same fixes.

No setting is ever run as code. RecBole 1.2.1 ``eval()``s every string given on the command line or
in a config_dict and reads yaml files with PyYAML's FullLoader (which builds Python objects from
tags); here strings are read with ``ast.literal_eval`` and yaml with the safe loader, which give the
same values for every plain number, list, dict, bool, None and string.
"""

import difflib
import functools
import glob
import os
import re
from importlib import resources

import recbole
import yaml
from recbole.config import Config
from recbole.evaluator import metric_types
from recbole.utils import EvaluatorType, ModelType

from recbole_disen import compat, files, horizon
from recbole_disen.config_rules import (
    DISEN_RULES, OVERALL_RULES, RECBOLE_RULES, S2S_SETTINGS, TYPED_BY_RULE, eval_args_problem, is_type,
)
from recbole_disen.errors import UserError, one_line
from recbole_disen.literal import literal
from recbole_disen.models import PLUGIN_MODELS, check_trainable, get_model

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


# RecBole's download addresses by dataset name (properties/dataset/): their keys are datasets, not settings.
URL_FILES = frozenset({"url.yaml", "kg_url.yaml"})


def _yaml_keys(pattern):
    """The top-level keys of the yaml files that ``pattern`` matches, the download address lists left out."""
    keys = set()
    for path in glob.glob(pattern, recursive=True):
        if os.path.basename(path) in URL_FILES:
            continue
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


def _folder_problem(path):
    """Why ``path`` cannot be a folder to write into, or None (``files.folder_problem``)."""
    if not isinstance(path, str) or not path:
        return "it must be a folder path"
    return files.folder_problem(path)


# RecBole loads a pickled dataset or dataloaders from these paths (and so runs any code they hold).
PICKLE_SETTINGS = {"save_dataset": False, "save_dataloaders": False, "dataset_save_path": None,
                   "dataloaders_save_path": None}


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


def _check_dataset_name(name, data_path=None):
    """A dataset is a name, not a path: RecBole makes file names of it (DATA_PATH/NAME/NAME.inter, the log's).
    The example keeps a ``data_path`` the user gave, the name's folder taken as inside it."""
    if not name or os.sep in name or "/" in name or name in (".", ".."):
        folder, _, base = os.path.normpath(name or ".").rpartition(os.sep)
        if data_path is None:
            hint = f"--data_path={folder or '.'} "
        else:  # the name's folder inside the given one, or the given one as it is
            hint = f"--data_path={os.path.join(str(data_path), folder)} " if folder else ""
        example = f" (here {hint}--dataset={base})" if base and base not in (".", "..") else ""
        raise UserError(f"dataset {name!r} is not a dataset name: give the folder that holds NAME/NAME.inter "
                        f"as --data_path and NAME as --dataset{example}")


def read_config_file(path, loader=None):
    """The settings of one ``--config_files`` yaml: a mapping of names to plain values (an empty file has none)."""
    loader = loader or yaml_loader()
    try:
        with open(path, encoding="utf-8") as f:
            content = yaml.load(f.read(), Loader=loader)
    except yaml.constructor.ConstructorError as error:
        raise UserError(
            f"config file {path} holds a YAML tag that is not plain data ({one_line(error)}); "
            "config files are read as data and never run: use plain values"
        ) from None
    except yaml.YAMLError as error:
        raise UserError(f"config file {path} is not valid YAML: {one_line(error)}") from None
    except UnicodeDecodeError:
        raise UserError(f"config file {path} is not UTF-8 text: convert it") from None
    except OSError as error:
        raise UserError(f"cannot read config file {path}: {error.strerror or one_line(error)}") from None
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise UserError(f"config file {path} holds a {type(content).__name__} at its top level: "
                        "write one 'setting: value' line per setting")
    names = [name for name in content if not isinstance(name, str)]
    if names:
        raise UserError(f"config file {path}: {names[0]!r} is not a setting name: write one 'setting: value' line per setting")
    return content


class DisenConfig(Config):
    """RecBole's Config plus ``properties/`` of this plugin; command-line settings come in as a dict.

    ``cmd_config_dict`` takes the place of RecBole's own reading of ``sys.argv`` (our CLI parses the
    command line itself), with the same precedence: command line > config_dict > config files.
    """

    def __init__(self, model=None, dataset=None, config_file_list=None, config_dict=None, cmd_config_dict=None):
        self._cmd_args = dict(cmd_config_dict or {})
        for path in config_file_list or []:
            if os.path.isdir(path):
                raise UserError(f"config file {path} is a folder: give the path of a yaml file")
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
        """RecBole's merge of the files, each read with the safe loader; ``_file_of`` records the file each
        setting comes from, and every problem names its file."""
        self._file_of = {}
        settings = {}
        for path in file_list or []:
            content = read_config_file(path, self.yaml_loader)
            settings.update(content)
            self._file_of.update(dict.fromkeys(content, path))
        return settings

    def _load_cmd_line(self):
        return self._convert_config_dict(self._cmd_args)

    def _get_model_and_dataset(self, model, dataset):
        for key, given in (("model", model), ("dataset", dataset)):  # RecBole would keep the given one silently
            named = self.external_config_dict.get(key)
            name = given if isinstance(given, str) or given is None else given.__name__
            if name is not None and named is not None and str(named) != name:  # a yaml `dataset: 100` is '100'
                raise UserError(f"setting '{key}'{self._from_file(key)} is {named!r}, but this run's {key} is "
                                f"{name!r}: remove the setting, or run {key} {named!r}")
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

    def _from_file(self, key):
        """' (in FILE)' when the value this run takes for ``key`` comes from a config file, else ''."""
        overridden = key in self.variable_config_dict or key in self.cmd_config_dict
        return "" if overridden or key not in self._file_of else f" (in {self._file_of[key]})"

    def _validate(self, model):
        """Unknown names, wrong types and out-of-range values, before RecBole acts on any of them."""
        _check_dataset_name(self.dataset, self.external_config_dict.get("data_path"))
        user = self.external_config_dict
        known = known_keys()
        owner = "other RecBole models have it" if model in PLUGIN_MODELS else f"{', '.join(PLUGIN_MODELS)} has it"
        # Settings named for this run that the model cannot read. A config file may serve several models,
        # as RecBole's users share them: its settings for other models are left to them, and said.
        for key in foreign_keys(model, {**self.variable_config_dict, **self.cmd_config_dict}):
            raise UserError(f"setting '{key}' is not one of {model}'s ({owner}, {model} would ignore it); "
                            "remove it (in the bench: --set MODEL:KEY=VALUE sets it for one model)")
        self.ignored_settings = [
            f"{self._file_of[key]}: setting '{key}' is not one of {model}'s ({owner}): {model} ignores it"
            for key in foreign_keys(model, self.file_config_dict)
        ]
        for key in user:
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                did_you_mean = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise UserError(f"unknown setting '{key}'{self._from_file(key)}{did_you_mean}; "
                                "see properties/model/DisenSeqRec.yaml and RecBole's docs for the settings")
        merged = {**self.internal_config_dict, **user}
        for key, value in user.items():
            default = self.internal_config_dict.get(key)
            if default is not None and value is not None and key not in TYPED_BY_RULE and not is_type(value, default):
                tilde = "; on the command line None stands for yaml's ~" if value == "~" else ""
                raise UserError(f"setting '{key}'{self._from_file(key)} must be of type {type(default).__name__} "
                                f"like its default {default!r}, got {value!r}{tilde}")
        rules = [(key, rule) for key, rule in RECBOLE_RULES.items() if merged.get(key) is not None or key in user]
        rules += OVERALL_RULES.items()
        if model == "DisenSeqRec":
            rules += DISEN_RULES.items()
        for key, (check, expected) in rules:
            if not check(merged.get(key)):
                raise UserError(f"setting '{key}'{self._from_file(key)} must be {expected}, got {merged.get(key)!r}")
        if model == "DisenSeqRec" and merged.get("s2s_weight") == 0:  # the default: the term is off
            self.ignored_settings += [
                f"setting '{key}'{self._from_file(key)} acts on the seq2seq term, which s2s_weight 0 turns off: "
                "DisenSeqRec ignores it (set s2s_weight > 0 to use it)" for key in S2S_SETTINGS if key in user
            ]
        if model == "DisenSeqRec" and merged.get("s2s_mask") == "mass" and merged.get("n_intents") == 1:
            raise UserError(
                "s2s_mask 'mass' needs n_intents >= 2: with one intention every pair holds all the mass, "
                "so nothing is masked (use s2s_mask 'loss')"
            )
        horizon.check_settings(model, merged)  # first: the horizon's own eval_args, said in its terms
        problem = eval_args_problem(merged["eval_args"], merged.get("MODEL_TYPE") == ModelType.SEQUENTIAL,
                                    pre_split=bool(merged.get("benchmark_filename")))
        if problem:
            raise UserError(f"eval_args{self._from_file('eval_args')}: {problem}")
        if merged.get("loss_type") not in (None, "CE"):
            raise UserError(
                f"loss_type {merged['loss_type']!r} is not supported: this runner trains every model with CE over "
                "all items and no negative sampling (README, 'Baselines, on identical terms'); use loss_type CE, "
                "or a model that supports it"
            )
        check_trainable(model)
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
