"""How much do a user's other rows matter as seq2seq negatives? Measure it on a trained run (issue 13).

A batch may hold several training rows of the same user; their futures overlap (at ``future_max_len``
5, neighbouring rows share 4 of 5 items), and the paper's InfoNCE counts them as each other's
negatives. ``s2s_same_user_negatives: False`` leaves them out. Before spending a run to early stopping
on that setting, this script measures, for a trained DisenSeqRec run (its best checkpoint, in eval
mode: no dropout) on ``--batches`` shuffled training batches of the run's own batch size:

- how many rows have another row of the same user in their batch (and how many such rows on average);
- the per-(row, intention) seq2seq losses with and without those negatives, on those rows;
- how the paper's confidence mask (keep the lambda fraction of smallest losses) treats those rows: the
  share of their pairs it keeps against the share it keeps overall, and how many pairs of the whole
  batch change side when the negatives go;
- the masked seq2seq loss of the batch (the term the model trains on) with and without them.

    python benchmarks/s2s_negatives.py cpu_table/runs/amazon-beauty__DisenSeqRec__seed2021.json

One JSON line on stdout; ``--out FILE`` also appends it there.
"""

import argparse
import sys
from pathlib import Path

import torch

from recbole_disen import compat, losses
from recbole_disen.future import FUTURE_POSITION_FIELD
from recbole_disen.model import DisenSeqRec
from trained_run import emit, load_best, read_record, rebuilt


def same_user_rows(users, valid):
    """For each row [B], how many other rows of the same user with a future (negatives) the batch holds."""
    ids = torch.where(valid, users, -1)  # [B], rows without a future are no one's negative
    _, inverse, counts = torch.unique(ids, return_inverse=True, return_counts=True)
    return torch.where(valid, counts[inverse] - 1, 0)


def batch_terms(model, interaction):
    """{True: (per-pair losses [B, K], what the confidence mask keeps [B, K]) with same-user negatives,
    False: the same without them}, the rows that have a future [B] and how many other rows of the same
    user each row has in the batch [B], for one training batch."""
    phi, mass, _ = model.forward(interaction[model.ITEM_SEQ], interaction[model.ITEM_SEQ_LEN])
    terms = {}
    for same_user in (True, False):
        model.s2s_same_user_negatives = same_user
        terms[same_user] = model.seq2seq_terms(interaction, phi, mass)[:2]  # [B, K], [B, K]
    users = interaction[model.USER_ID]  # [B]
    _, future_len = model.future(users, interaction[FUTURE_POSITION_FIELD])  # [B, F], [B]
    return terms, future_len > 0, same_user_rows(users, future_len > 0)


@compat.quiet_recbole_warnings()
@torch.no_grad()
def measure(record, n_batches):
    with rebuilt(record) as (config, train, _, _, model):
        if not isinstance(model, DisenSeqRec) or model.s2s_mask != "loss":
            raise SystemExit(f"{record['run_key']}: needs a DisenSeqRec run with the paper's loss-ranked mask")
        state = load_best(record, model, "measure")
    train.generator.manual_seed(config["seed"])
    sums = dict.fromkeys(("rows", "valid_rows", "rows_with_same_user", "same_user_neighbours", "pairs",
                          "pairs_changing_side", "affected_pairs", "affected_kept_with", "affected_kept_without",
                          "affected_loss_with", "affected_loss_without"), 0.0)
    masked = {True: [], False: []}
    for index, interaction in enumerate(train):
        if index == n_batches:
            break
        terms, valid, neighbours = batch_terms(model, interaction.to(config["device"]))
        (with_same, keep_with), (without_same, keep_without) = terms[True], terms[False]
        affected = (valid & (neighbours > 0)).unsqueeze(1).expand_as(keep_with)  # [B, K]
        masked[True].append(float(losses.masked_mean(with_same, keep_with)))
        masked[False].append(float(losses.masked_mean(without_same, keep_without)))
        sums["rows"] += len(valid)
        sums["valid_rows"] += int(valid.sum())
        sums["rows_with_same_user"] += int((valid & (neighbours > 0)).sum())
        sums["same_user_neighbours"] += int(neighbours[valid].sum())
        sums["pairs"] += int(valid.sum()) * model.n_intents
        sums["pairs_changing_side"] += int((keep_with != keep_without).sum())
        sums["affected_pairs"] += int(affected.sum())
        sums["affected_kept_with"] += int((keep_with & affected).sum())
        sums["affected_kept_without"] += int((keep_without & affected).sum())
        sums["affected_loss_with"] += float(with_same[affected].sum())
        sums["affected_loss_without"] += float(without_same[affected].sum())
    affected = max(sums["affected_pairs"], 1)
    return {
        "run_key": record["run_key"], "checkpoint_epoch": state.get("epoch"), "batches": len(masked[True]),
        "batch_size": config["train_batch_size"], "n_intents": model.n_intents, "lambda": model.lambda_,
        "future_max_len": model.future_max_len,
        "share_of_rows_with_a_same_user_row": round(sums["rows_with_same_user"] / sums["valid_rows"], 4),
        "same_user_rows_per_row": round(sums["same_user_neighbours"] / sums["valid_rows"], 4),
        "their_mean_pair_loss_with": round(sums["affected_loss_with"] / affected, 4),
        "their_mean_pair_loss_without": round(sums["affected_loss_without"] / affected, 4),
        "their_pairs_kept_with": round(sums["affected_kept_with"] / affected, 4),
        "their_pairs_kept_without": round(sums["affected_kept_without"] / affected, 4),
        "share_of_batch_pairs_changing_side": round(sums["pairs_changing_side"] / sums["pairs"], 4),
        "masked_loss_with": round(sum(masked[True]) / len(masked[True]), 4),
        "masked_loss_without": round(sum(masked[False]) / len(masked[False]), 4),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a bench run JSON of DisenSeqRec")
    parser.add_argument("--batches", type=int, default=20, help="training batches to measure (default 20)")
    parser.add_argument("--out", type=Path, help="also append the JSON line to this file")
    args = parser.parse_args(argv)
    emit(measure(read_record(args.run), args.batches), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
