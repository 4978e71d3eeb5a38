"""RecBole's Trainer with safe checkpoints, exact resume, a time budget and a per-epoch record.

Every model the runner trains (DisenSeqRec and the RecBole baselines) uses this trainer, so all
share the same checkpointing and timing. The training loop itself is RecBole's.
"""

import os
import time

import numpy as np
import torch
from recbole.evaluator import Evaluator
from recbole.evaluator.metrics import NDCG
from recbole.trainer import Trainer
from recbole.utils import calculate_valid_score

from recbole_disen import checkpoint, compat, files
from recbole_disen.errors import UserError
from recbole_disen.horizon_metrics import HorizonRecorder
from recbole_disen.protocols import RankingLog


class BudgetSpent(Exception):
    """Raised at the start of an epoch once the time budget is spent."""


class RecordingEvaluator(Evaluator):
    """RecBole's Evaluator that keeps each user's NDCG@k of the last evaluation (for paired tests)."""

    def __init__(self, config):
        super().__init__(config)
        self.config = config
        self.user_ndcg = None

    def evaluate(self, dataobject):
        if "rec.topk" in dataobject:
            matrix = dataobject.get("rec.topk").numpy()
            ndcg = NDCG(self.config).metric_info(matrix[:, :-1].astype(bool), matrix[:, -1])
            # NDCG@10 per user, for the paired tests; none when the largest topk is under 10
            self.user_ndcg = ndcg[:, 9] if ndcg.shape[1] >= 10 else None
        return super().evaluate(dataobject)


class DisenTrainer(Trainer):
    """Trainer whose checkpoints load with weights_only=True; it also saves the last epoch for resume."""

    def __init__(self, config, model, time_budget=None, data_fingerprint=None):
        super().__init__(config, model)
        self.eval_collector = compat.CpuCollector(config)
        self.data_fingerprint = data_fingerprint  # checkpoint.fingerprint of the training data
        self.evaluator = RecordingEvaluator(config)
        self.horizon = HorizonRecorder(config) if config["horizon"] else None
        self.time_budget = time_budget
        stem, extension = os.path.splitext(os.path.abspath(self.saved_model_file))
        self.saved_model_file = stem + extension
        self.last_model_file = f"{stem}-last{extension}"
        self._names_claimed = False  # see _claim_names
        self.finished = False
        self.history = []
        self.budget_cut = False
        self.best_epoch = None
        self.eval_users = []
        self.ranking = RankingLog()
        self.valid_seen = None  # a SeenItems: validation ranks without the users' earlier items
        self._started = None
        self._generator_state = None
        self._validates = False
        self._last_valid_result = None  # the last validation's result (see _best_result)

    # -- checkpoints ---------------------------------------------------------------------------
    def _state(self, epoch, role):
        return {
            "format": checkpoint.FORMAT,
            "role": role,
            "data": self.data_fingerprint,
            "config": checkpoint.plain(self.config.final_config_dict),
            "epoch": epoch,
            "cur_step": self.cur_step,
            "best_valid_score": float(self.best_valid_score),
            "best_valid_result": checkpoint.plain(dict(self._best_result(role) or {})),
            "best_epoch": self.best_epoch,
            "history": self.history,
            "state_dict": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "loader": self._generator_state,
            },
        }

    def _best_result(self, role):
        """The validation result a checkpoint of ``role`` stores. RecBole's fit sets best_valid_result
        only after it saved the best checkpoint (fit 501-503), so the best one takes this epoch's own."""
        if role == checkpoint.BEST and self._last_valid_result is not None:
            return self._last_valid_result
        return self.best_valid_result

    def _claim_names(self):
        """Before a new run's first epoch: names that no file in the folder has yet. RecBole names
        checkpoints by the second, so runs started in the same second into one folder (or a file already
        there) would otherwise be overwritten; the run then takes the same name plus '-2', '-3', ...
        Rank 0 claims them (its '-last' file exists, empty, until the first epoch ends) and tells the
        other ranks, which load the best checkpoint from the same file."""
        if self._names_claimed:
            return
        stem, extension = os.path.splitext(self.saved_model_file)
        if self.config["single_spec"] or self.config["local_rank"] == 0:
            stem = files.claim_free_stem(stem, [f"-last{extension}", extension])
        if not self.config["single_spec"]:
            shared = [stem]
            torch.distributed.broadcast_object_list(shared, src=0)
            stem = shared[0]
        self.saved_model_file, self.last_model_file = stem + extension, f"{stem}-last{extension}"
        self._names_claimed = True

    @property
    def written_last(self):
        """The '-last' checkpoint to continue the run from, or None when no epoch has ended yet."""
        return self.last_model_file if os.path.isfile(self.last_model_file) else None

    def _drop_unwritten_last(self):
        """The claimed '-last' file, if no epoch ended to fill it (interrupted in the first epoch, or no
        epoch to train), is removed: an empty file is no checkpoint (so ``written_last`` is None then)."""
        if (self.config["single_spec"] or self.config["local_rank"] == 0) and os.path.isfile(self.last_model_file) \
                and os.path.getsize(self.last_model_file) == 0:
            os.remove(self.last_model_file)

    def _save_checkpoint(self, epoch, verbose=True, **kwargs):
        if not self.config["single_spec"] and self.config["local_rank"] != 0:
            return
        self.best_epoch = epoch
        checkpoint.save_atomic(self._state(epoch, checkpoint.BEST), kwargs.pop("saved_model_file", self.saved_model_file))
        if verbose:
            self.logger.info(f"Saving current: {self.saved_model_file}")

    def resume_from(self, state, resume_file):
        """Continue from a '-last.pth' checkpoint's ``state`` (``checkpoint.read_for_resume``, on the CPU: RNG
        states must stay CPU tensors): weights, optimiser, early stopping, the torch random state and the
        order of the training data. A run that had already stopped is not trained again."""
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.start_epoch = state["epoch"] + 1
        self.cur_step = state["cur_step"]
        self.best_valid_score = state["best_valid_score"]
        self.best_valid_result = state["best_valid_result"] or None
        self.best_epoch = state["best_epoch"]
        self.history = list(state["history"])
        self.saved_model_file = checkpoint.best_checkpoint_of(resume_file)
        self.last_model_file = resume_file
        self._names_claimed = True  # the resumed run's own files, replaced as it goes on
        torch.set_rng_state(state["rng"]["torch"])
        if torch.cuda.is_available() and state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self._generator_state = state["rng"]["loader"]
        self.finished = self.start_epoch >= self.epochs or self.cur_step > self.stopping_step

    def load_best(self, model_file=None):
        """Load the best (or the given) checkpoint's weights into the model, without running code
        (each field checked: a file that is not one of ours is one UserError line)."""
        state = checkpoint.read(model_file or self.saved_model_file)
        self.model.load_state_dict(state["state_dict"])

    # -- training loop hooks -------------------------------------------------------------------
    # These overrides lean on how RecBole 1.2.1's Trainer.fit calls its hooks (recbole/trainer/trainer.py,
    # line numbers of 1.2.1; tests/test_trainer.py fails when that source changes):
    # - fit (404-519): 428-429 save a checkpoint at epoch -1 when start_epoch >= epochs: a finished resumed run
    #   therefore returns before super().fit. 436 loops from start_epoch (set by resume_from). BudgetSpent,
    #   raised in _train_epoch, leaves the loop (and skips 518's tensorboard hparams).
    # - _train_epoch (203-270) runs first in every epoch (439). With no validation (eval_step <= 0 or no
    #   valid_data, 458-461) fit saves the best checkpoint after every epoch; otherwise it validates only
    #   when (epoch + 1) % eval_step == 0 (462). So _train_epoch ends the epochs that are not validated
    #   (_end_epoch: wall time, the -last checkpoint) and the validated ones end in fit's callback_fn, which
    #   505-506 call after every validation, after 501-503 saved an improved model and set
    #   best_valid_result. (Without validation the -last checkpoint is written before 460 saves the best,
    #   so the best_epoch it stores is the previous epoch's.)
    # - _valid_epoch (272-287) calls self.evaluate(valid_data, load_best_model=False) (283-285) and
    #   calculate_valid_score; the override below does the same with the validation protocol's seen
    #   items, so the evaluate override also runs for every validation; the score feeds early_stopping (473).
    # - _save_checkpoint (289-312) is called only when the model improved (502) or, without validation,
    #   after every epoch (460), and at 429: setting best_epoch there is how the best epoch is known.
    # - evaluate (562-630): with load_best_model it would torch.load a pickle (583), so the override loads
    #   the best weights itself and passes load_best_model=False; for full ranking it calls
    #   _full_sort_batch_eval once per batch (594, 616), which records the batch's users for user_ndcg.
    def fit(self, train_data, valid_data=None, verbose=True, saved=True, show_progress=False, callback_fn=None):
        self._started = time.time() - (self.history[-1]["wall_seconds"] if self.history else 0.0)
        if self._generator_state is not None:
            train_data.generator.set_state(self._generator_state)
        self._validates = bool(valid_data) and self.eval_step > 0

        def end_of_validated_epoch(epoch_idx, valid_score):
            self._end_epoch(epoch_idx)
            if callback_fn:
                callback_fn(epoch_idx, valid_score)

        if self.finished:
            self.logger.info("The resumed run had already stopped: nothing to train")
            return self.best_valid_score, self.best_valid_result
        self._claim_names()
        try:
            super().fit(train_data, valid_data, verbose, saved, show_progress, end_of_validated_epoch)
        except BudgetSpent:
            self.budget_cut = True
            self.logger.info(f"Time budget of {self.time_budget:.0f} s spent: training stops, best checkpoint is tested")
        finally:
            self._drop_unwritten_last()
        return self.best_valid_score, self.best_valid_result

    def _train_epoch(self, train_data, epoch_idx, loss_func=None, show_progress=False):
        spent = self.time_budget is not None and time.time() - self._started >= self.time_budget
        if spent and self.history:  # at least one epoch always runs
            raise BudgetSpent
        start = time.time()
        loss = super()._train_epoch(train_data, epoch_idx, loss_func, show_progress)
        self.history.append({
            "epoch": epoch_idx, "train_seconds": time.time() - start,
            "valid_seconds": None, "valid_score": None, "wall_seconds": None,
        })
        self._generator_state = train_data.generator.get_state()
        if not self._validates or (epoch_idx + 1) % self.eval_step != 0:
            self._end_epoch(epoch_idx)
        return loss

    def _check_nan(self, loss):
        """RecBole raises a bare ValueError on a NaN training loss; say what diverged and what to change."""
        if torch.isnan(loss):
            raise UserError(
                f"the training loss became NaN in epoch {len(self.history)}: training diverged; lower "
                f"learning_rate (now {self.config['learning_rate']}) or clip the gradients (clip_grad_norm)"
            )

    def _valid_epoch(self, valid_data, show_progress=False):
        start = time.time()
        valid_result = self.evaluate(
            valid_data, load_best_model=False, show_progress=show_progress,
            seen=self.valid_seen, exclude_seen=self.valid_seen is not None,
        )
        valid_score = calculate_valid_score(valid_result, self.valid_metric)
        self._last_valid_result = valid_result
        if self.history:
            self.history[-1].update(valid_seconds=time.time() - start, valid_score=float(valid_score))
        return valid_score, valid_result

    def _end_epoch(self, epoch_idx):
        self.history[-1]["wall_seconds"] = time.time() - self._started
        if self.config["single_spec"] or self.config["local_rank"] == 0:
            checkpoint.save_atomic(self._state(epoch_idx, checkpoint.LAST), self.last_model_file)

    def _full_sort_batch_eval(self, batched_data):
        interaction, scores, positive_u, positive_i = super()._full_sort_batch_eval(batched_data)
        self.eval_users.append(interaction[self.config["USER_ID_FIELD"]].cpu())
        scores = self.ranking.observe(interaction, scores, positive_i)
        if self.horizon:
            self.horizon.collect(interaction, scores)
        return interaction, scores, positive_u, positive_i

    def evaluate(self, eval_data, load_best_model=True, model_file=None, show_progress=False, seen=None,
                 exclude_seen=False):
        """RecBole's evaluation; the best checkpoint is loaded with weights_only=True. ``seen`` (a
        SeenItems) records how many top-10 items the users had before; ``exclude_seen`` removes them
        from the ranking. ``self.ranking`` keeps what this evaluation recommended."""
        if load_best_model:
            if not self.config["single_spec"]:
                torch.distributed.barrier()  # rank 0 may still be writing the best checkpoint
            self.load_best(model_file)
        self.eval_users = []
        self.ranking = RankingLog(seen, exclude_seen)
        if self.horizon:
            self.horizon.reset()
        result = super().evaluate(eval_data, False, None, show_progress)
        if self.horizon and result is not None:
            result.update(self.horizon.result())
        return result

    def user_ndcg(self):
        """(user ids, NDCG@10) of the last evaluation, aligned."""
        users = torch.cat(self.eval_users).numpy() if self.eval_users else np.zeros(0, dtype=np.int64)
        ndcg = self.evaluator.user_ndcg
        if ndcg is None or len(ndcg) != len(users):  # sampled evaluation: no per-user pairing
            return np.zeros(0, dtype=np.int64), None
        return users, ndcg

    def median_epoch_seconds(self):
        return float(np.median([h["train_seconds"] for h in self.history])) if self.history else 0.0

