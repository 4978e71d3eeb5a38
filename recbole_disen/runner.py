"""One training run, for DisenSeqRec or any RecBole model, on identical terms.

It is RecBole's ``run_recbole`` (config, data, model, Trainer, test) with this package's config, the
compatibility fixes, safe checkpoints, a time budget, and a result dict that the benchmark stores.
"""

import logging
import os
import platform
import resource
import sys
from logging import getLogger

import numpy as np
import pandas as pd
import recbole
import torch
from recbole.data import create_dataset, data_preparation
from recbole.data.dataset import SequentialDataset
from recbole.utils import ModelType, init_logger, init_seed, set_color

import recbole_disen
from recbole_disen import allocator, checkpoint, compat, datacheck, future, horizon, limits, padding, protocols
from recbole_disen.config import DisenConfig
from recbole_disen.models import get_model
from recbole_disen.errors import Interrupted, ResumeRefused, UserError, one_line
from recbole_disen.model import DisenSeqRec
from recbole_disen.trainer import DisenTrainer

# RecBole raises these for settings it cannot use; they reach the user as one line.
CONFIG_ERRORS = (ValueError, KeyError, TypeError, NotImplementedError, SyntaxError, AssertionError)


def build_config(model, dataset, config_files=None, config_dict=None, cmd_config=None):
    """DisenConfig, with RecBole's own setting errors turned into one-line UserErrors."""
    try:
        return DisenConfig(model, dataset, config_files, config_dict, cmd_config)
    except UserError:
        raise
    except CONFIG_ERRORS as error:
        raise UserError(f"invalid settings: {one_line(error)}") from None


def build_dataset(config):
    """RecBole's dataset for the model, filling missing values in a way that works on pandas 3."""
    with datacheck.readable_errors(config):
        datacheck.ensure_inter_file(config)
        with compat.pandas3_fill_nan():
            if config["horizon"]:
                dataset = horizon.HorizonDataset(config)  # its own split
            elif config["MODEL_TYPE"] == ModelType.SEQUENTIAL and not hasattr(
                recbole.data.dataset, config["model"] + "Dataset"
            ):
                dataset = SequentialDataset(config)
            else:
                dataset = create_dataset(config)
        datacheck.drop_duplicates(config, dataset)
        if config["horizon"]:
            dataset.drop_short_users()
        else:
            datacheck.check_split(config, dataset)
        limits.check(config, dataset)
    return dataset


def build_model(config, train_dataset):
    """The configured model on its device, padding-free where that is exact and switched on."""
    try:
        model = get_model(config["model"])(config, train_dataset).to(config["device"])
    except UserError:
        raise
    except CONFIG_ERRORS as error:
        raise UserError(f"cannot build model {config['model']} with these settings: {one_line(error)}") from None
    if config["padding_free"] and padding.supports(config["model"]):
        padding.enable(model)
    compat.disable_anomaly_detection()
    return model


def build(config, logger=None):
    """(dataset, train, valid, test, model) ready to train, seeded as RecBole seeds them."""
    init_seed(config["seed"], config["reproducibility"])
    dataset = build_dataset(config)
    if logger:
        logger.info(dataset)
    try:
        train_data, valid_data, test_data = data_preparation(config, dataset)
    except ValueError as error:  # eval_args is checked with the settings: what RecBole refuses here is another one
        raise UserError(f"RecBole cannot build the training, validation and test data of {config['dataset']}: "
                        f"{one_line(error)}; fix the setting it names") from None
    if issubclass(get_model(config["model"]), DisenSeqRec):  # its seq2seq loss finds each training row's future by a tag
        future.tag_training_rows(train_data.dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = build_model(config, train_data.dataset)
    return dataset, train_data, valid_data, test_data, model


def environment():
    """Versions and machine, recorded with every result."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return (
        {"python": platform.python_version(), "torch": torch.__version__, "recbole": recbole.__version__,
         "numpy": np.__version__, "pandas": pd.__version__, "recbole_disen": recbole_disen.__version__},
        {"platform": platform.platform(), "cpu_count": os.cpu_count(), "gpu": gpu},
    )


def _peak_memory(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device), "gpu"
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, "cpu"


@compat.quiet_recbole_warnings()
def run(model="DisenSeqRec", dataset="ml-100k", config_files=None, config_dict=None, *, cmd_config=None,
        time_budget=None, show_progress=None, saved=True, resume=None):
    """Train with early stopping, test the best checkpoint, and return the results as plain data."""
    config = build_config(model, dataset, config_files, config_dict, cmd_config)
    resumed = checkpoint.read_for_resume(resume, config) if resume else None
    init_logger(config)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logger = getLogger()
    logger.info(sys.argv)
    logger.info(config)
    for line in config.ignored_settings:
        logger.warning(line)
    if config["keep_freed_memory"] and config["device"].type == "cpu":
        if allocator.keep_freed_memory():
            logger.info("keep_freed_memory: glibc keeps freed memory in this process (no mmap, no trimming)")
        else:
            logger.info("keep_freed_memory: not available here (it needs glibc's mallopt): the default allocator stays")
    full_dataset, train_data, valid_data, test_data, net = build(config, logger)
    datacheck.check_topk(config, full_dataset)  # for the evaluations (a built model alone ranks with its own k)
    data_fingerprint = checkpoint.fingerprint(full_dataset, config)
    del full_dataset  # RecBole's full augmented dataset is not kept: only its splits are needed from here on.
    logger.info(net)
    progress = config["show_progress"] if show_progress is None else show_progress
    if config["device"].type == "cuda":
        torch.cuda.reset_peak_memory_stats(config["device"])

    seen = protocols.SeenItems(train_data, config["device"]) if protocols.check(config, test_data) else None
    trainer = DisenTrainer(config, net, time_budget=time_budget, data_fingerprint=data_fingerprint)
    trainer.valid_seen = seen if config["eval_exclude_seen"] else None
    if resume:
        checkpoint.check_same_data(resumed, data_fingerprint, resume, "--resume", error=ResumeRefused)
        try:
            trainer.resume_from(resumed, resume)
        except (LookupError, TypeError, ValueError, RuntimeError) as error:  # weights that do not fit
            raise ResumeRefused(
                f"--resume: cannot continue from {resume}: {one_line(error, with_type=True, limit=200)}") from None
    try:
        best_valid_score, best_valid_result = trainer.fit(train_data, valid_data, saved=saved, show_progress=progress)
    except KeyboardInterrupt:  # the CLI names the checkpoint to continue from
        raise Interrupted(trainer.written_last) from None
    # With no validation yet (a budget spent before the first one), the current weights are tested.
    tested_best = saved and os.path.isfile(trainer.saved_model_file)
    tests = protocols.test_both(trainer, train_data, test_data, seen, load_best_model=tested_best,
                                show_progress=progress)
    best_valid_result = {k: float(v) for k, v in (best_valid_result or {}).items()}
    # each line names its ranking protocol: validation (and so early stopping) ran under the one in force
    logger.info(set_color(f"best valid, {protocols.name(config['eval_exclude_seen'])}", "yellow")
                + f": {best_valid_result}")
    logger.info(set_color(f"test, {protocols.name(False)}", "yellow") + f": {tests['test_result_recbole']}")
    if tests["test_result_unseen"] is not None:
        logger.info(set_color(f"test, {protocols.name(True)}", "yellow") + f": {tests['test_result_unseen']}")
    peak, memory_kind = _peak_memory(config["device"])
    versions, machine = environment()
    return {
        "model": config["model"],
        "dataset": config["dataset"],
        "seed": config["seed"],
        "valid_metric": config["valid_metric"].lower(),
        "best_valid_score": float(best_valid_score),
        "best_valid_result": best_valid_result,
        **tests,
        "horizon": config["horizon"],
        "horizon_dropped_users": getattr(train_data.dataset, "horizon_dropped_users", 0),
        "history": trainer.history,
        "best_epoch": trainer.best_epoch,
        "epochs_run": len(trainer.history),
        "budget_cut": trainer.budget_cut,
        "median_epoch_seconds": trainer.median_epoch_seconds(),
        "peak_memory_bytes": int(peak),
        "memory_kind": memory_kind,
        "n_params": sum(p.numel() for p in net.parameters()),
        "checkpoint": trainer.saved_model_file if tested_best else None,
        "last_checkpoint": trainer.written_last,
        "config": checkpoint.plain(config.final_config_dict),
        "versions": versions,
        "machine": machine,
    }
