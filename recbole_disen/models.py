"""Which model a name means, and which of them this runner can train.

As in RecBole-GNN: ``get_model`` knows this plugin's models and falls back to RecBole for every other
model, so baselines run through the same runner with the same fixes. ``check_trainable`` refuses, at the
start, the models that RecBole's standard Trainer without negative sampling cannot train.
"""

import difflib
import functools
import importlib
import importlib.util
import inspect
import pkgutil
import sys

import recbole.trainer
from recbole.utils import InputType, ModelType
from recbole.utils import get_model as recbole_get_model

from recbole_disen import compat
from recbole_disen.errors import UserError, one_line

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
    plugin_names = {model.lower(): model for model in PLUGIN_MODELS}
    names = recbole_model_files()
    if name.lower() in plugin_names or name.lower() in names:  # the name but for case
        model_class = None if name.lower() in plugin_names else _recbole_model(name)
        if model_class is None:
            spelling = plugin_names.get(name.lower()) or _class_of_file(name.lower())
            raise UserError(f"unknown model '{name}': model names are case-sensitive; use {spelling}")
        return model_class
    # checked before any import: RecBole's own lookup imports optional packages
    hint = difflib.get_close_matches(name.lower(), names | set(plugin_names), n=1)
    did_you_mean = f" (did you mean {plugin_names.get(hint[0]) or _class_of_file(hint[0])}?)" if hint else ""
    raise UserError(f"unknown model '{name}'{did_you_mean}: use {', '.join(PLUGIN_MODELS)} or a RecBole model name "
                    "such as SASRec")


def _recbole_model(name):
    """RecBole's model class ``name``, or None when its model file ``name.lower()`` spells the class otherwise."""
    try:
        return recbole_get_model(name)
    except AttributeError:  # RecBole found the file by the lower-case name, and no class of this spelling in it
        return None
    except (ValueError, ModuleNotFoundError) as error:
        raise UserError(f"cannot load model '{name}': {one_line(error)} (install what it needs, or check the name's spelling)") from None
    finally:
        compat.disable_anomaly_detection()


def _class_of_file(file):
    """The spelling of the class in RecBole's model file ``file`` (its lower-case name), read by importing
    the file; ``file`` itself when that fails."""
    try:
        _recbole_model(file)
    except UserError:
        return file
    module = next(module for key, module in sys.modules.items()
                  if key.startswith("recbole.model.") and key.rpartition(".")[2] == file)
    return next((attribute for attribute in dir(module)
                 if attribute.lower() == file and isinstance(getattr(module, attribute), type)), file)


def check_trainable(model):
    """The runner trains with RecBole's standard Trainer and no negative sampling: refuse, at the start,
    the models that need another trainer or sampled negative pairs (they fail later, with a traceback)."""
    model_class = get_model(model)
    if hasattr(recbole.trainer, f"{model}Trainer") or getattr(model_class, "type", None) == ModelType.KNOWLEDGE:
        raise UserError(f"{model} needs its own RecBole trainer, which this runner does not use; "
                        "run it with RecBole's run_recbole, or choose a model trained with CE (SASRec, BERT4Rec, ...)")
    if getattr(model_class, "input_type", None) == InputType.PAIRWISE:
        raise UserError(f"{model} trains on sampled negative pairs, which this runner does not draw; "
                        "run it with RecBole's run_recbole, or choose a model trained with CE (SASRec, BERT4Rec, ...)")
    if _reads_labels(model_class):
        raise UserError(f"{model} trains on labelled interactions (a label for each sampled negative), which this "
                        "runner does not draw; run it with RecBole's run_recbole, or choose a model trained with CE "
                        "(SASRec, BERT4Rec, ...)")


@functools.cache  # read from the source files once per class, not at every config built
def _reads_labels(model_class):
    """Whether a RecBole model's construction reads ``LABEL_FIELD``: its loss needs the label that RecBole's
    negative sampling adds to each interaction (NeuMF, DIN, the context-aware models, ...)."""
    return any("LABEL_FIELD" in inspect.getsource(cls.__init__) for cls in model_class.__mro__
               if "__init__" in vars(cls) and cls.__module__.startswith("recbole."))
