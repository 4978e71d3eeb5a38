"""Why does DisenSeqRec rank the user's own items so high? Take a trained bench run apart (issue 13).

For a run JSON (or a running bench job's ``job.json`` with ``--interim``), rebuild its data and
model, load the checkpoint, and on the validation rows (test rows with ``--split test``) report:

- NDCG@10 of the target as the model ranks all items, with the row's most recent item x_t taken
  out of the ranking, and with every item the user had taken out (the second protocol), for any
  sequential model (SASRec too);
- the share of the top 10 that the user already had, under the model's full score and under each
  of its two parts: the intention term agg_k <phi_k, e_j> and the last-position term <z_t, e_j>;
  and the share that is the row's most recent item x_t alone;
- for DisenSeqRec, for the real positions i of each row's history (i < t), where item x_i itself and
  the next item x_{i+1} rank among all items under z_i's own score <z_i, e_j> (median rank, 1 = top): z_i is
  what phi_k pools. A low rank for x_i says z_i points at its own input item (the residual path
  and the tied embeddings); a low rank for x_{i+1} says it points at an item that is now history
  (with ``causal`` False z_i has read x_{i+1} itself, so that rank says less).

    python benchmarks/seen_diagnosis.py cpu_table/runs/amazon-beauty__DisenSeqRec__seed2020.json
    python benchmarks/seen_diagnosis.py --interim /tmp/recbole-disen-bench-XXXX/job.json

One JSON line on stdout; ``--out FILE`` also appends it there.
"""

import argparse
import sys
from pathlib import Path

import torch

from recbole_disen import compat, losses, protocols
from recbole_disen.model import DisenSeqRec
from retest import interim_record
from trained_run import emit, load_best, read_record, rebuilt

POSITION_ROWS = 256  # rows per chunk for the per-position ranks ([rows, L, n_items] scores)


def top_seen(scores, seen_mask, k=10):
    """Number of top-k slots of each row [B] that hold a seen item."""
    return seen_mask.gather(1, scores.topk(k, dim=1).indices).sum(1)


def top_holds(scores, items, k=10):
    """Rows [B] whose top-k holds their own item of ``items`` [B]."""
    return (scores.topk(k, dim=1).indices == items.unsqueeze(1)).any(1)


def rank_of(scores, items):
    """1-based rank [M] of items [M] under scores [M, N] (ties counted against the item)."""
    own = scores.gather(1, items.unsqueeze(1))  # [M, 1]
    return (scores >= own).sum(1)


def position_ranks(model, item_seq, item_len):
    """Ranks of x_i and of x_{i+1} under <z_i, e_j> over the real positions i < t - 1 of each row."""
    table = model.item_embedding.weight  # [N, H]
    own, following = [], []
    for start in range(0, item_seq.size(0), POSITION_ROWS):  # chunks bound the [rows, L, N] memory
        seq, length = item_seq[start:start + POSITION_ROWS], item_len[start:start + POSITION_ROWS]
        z = model.encoder(seq)  # [b, L, H]
        positions = torch.arange(seq.size(1), device=seq.device)  # [L]
        inside = positions.unsqueeze(0) < (length - 1).unsqueeze(1)  # [b, L]: i has a next item in the row
        rows, cols = inside.nonzero(as_tuple=True)  # [M]
        scores = z[rows, cols] @ table.t()  # [M, N]
        own.append(rank_of(scores, seq[rows, cols]))
        following.append(rank_of(scores, seq[rows, cols + 1]))
    return torch.cat(own).float(), torch.cat(following).float()


def ndcg_at_10(scores, targets):
    """NDCG@10 [B] of one target per row [B] under scores [B, N]."""
    rank = rank_of(scores, targets).float()
    return torch.where(rank <= 10, 1.0 / torch.log2(rank + 1.0), 0.0)


def score_parts(model, interaction, table):
    """Scores [B, N]: the model's full score and, for DisenSeqRec, its two parts (the intention term
    and the last-position term), from one forward pass."""
    if not isinstance(model, DisenSeqRec):
        return {"full": model.full_sort_predict(interaction)}
    phi, _, last = model.forward(interaction[model.ITEM_SEQ], interaction[model.ITEM_SEQ_LEN])
    return {"full": model.score(phi, last, table),
            "intention": losses.aggregate_scores(phi @ table.t(), model.aggregation, dim=1), "last": last @ table.t()}


@compat.quiet_recbole_warnings()
@torch.no_grad()
def diagnose(record, split):
    with rebuilt(record) as (config, train, valid, test, model):
        state = load_best(record, model, "diagnose")
    disen = isinstance(model, DisenSeqRec)
    seen = protocols.SeenItems(train, config["device"])
    table = model.item_embedding.weight  # [N, H]
    counts = {"full": 0, **({"intention": 0, "last": 0} if disen else {})}
    recent = dict.fromkeys(counts, 0)
    ndcg = {"full": [], "latest_removed": [], "seen_removed": []}
    slots, own_ranks, next_ranks = 0, [], []
    for batch in (valid if split == "valid" else test):
        interaction = batch[0].to(config["device"])
        item_seq, item_len = interaction[model.ITEM_SEQ], interaction[model.ITEM_SEQ_LEN]
        targets = interaction[model.ITEM_ID]  # [B]
        mask = seen.batch_mask(interaction)  # [B, N]
        latest = item_seq.gather(1, (item_len - 1).unsqueeze(1)).squeeze(1)  # [B] x_t
        parts = score_parts(model, interaction, table)
        for name, scores in parts.items():
            scores[:, 0] = -torch.inf  # the padding item is never recommended
            counts[name] += int(top_seen(scores, mask).sum())
            recent[name] += int(top_holds(scores, latest).sum())
        full = parts["full"]
        ndcg["full"].append(ndcg_at_10(full, targets))
        ndcg["latest_removed"].append(ndcg_at_10(full.scatter(1, latest.unsqueeze(1), -torch.inf), targets))
        ndcg["seen_removed"].append(ndcg_at_10(full.masked_fill(mask, -torch.inf), targets))
        slots += 10 * item_seq.size(0)
        if disen:
            own, following = position_ranks(model, item_seq, item_len)
            own_ranks.append(own)
            next_ranks.append(following)
    out = {
        "run_key": record["run_key"], "checkpoint_epoch": state.get("epoch"), "split": split,
        **{f"ndcg@10_{name}": round(float(torch.cat(values).mean()), 4) for name, values in ndcg.items()},
        **{f"seen_share@10_{name}": round(count / slots, 4) for name, count in counts.items()},
        **{f"latest_item_share@10_{name}": round(count / slots, 4) for name, count in recent.items()},
        "n_items": int(table.size(0)),
    }
    if disen:
        own_ranks, next_ranks = torch.cat(own_ranks), torch.cat(next_ranks)
        out.update({
            "score_last": model.score_last, "n_intents": model.n_intents, "causal": model.causal,
            "positions": int(own_ranks.numel()),
            "median_rank_own_item_under_z_i": float(own_ranks.median()),
            "share_own_item_top10_under_z_i": round(float((own_ranks <= 10).float().mean()), 4),
            "median_rank_next_item_under_z_i": float(next_ranks.median()),
            "share_next_item_top10_under_z_i": round(float((next_ranks <= 10).float().mean()), 4),
        })
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a bench run JSON, or a job.json with --interim")
    parser.add_argument("--interim", action="store_true", help="the path is a running bench job's job.json")
    parser.add_argument("--split", choices=("valid", "test"), default="valid")
    parser.add_argument("--out", type=Path, help="also append the JSON line to this file")
    args = parser.parse_args(argv)
    # retest.py, beside this script, reads a running job's best checkpoint so far
    record = interim_record(args.run) if args.interim else read_record(args.run)
    emit(diagnose(record, args.split), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
