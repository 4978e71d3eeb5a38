"""Why does the seq2seq term slow learning? Measure it while training (issue: beat SASRec).

Trains DisenSeqRec for some steps and, every few steps, reports on one batch:
- the two losses unweighted (seq2item CE, seq2seq InfoNCE) and the weight in force;
- the gradient norm of each weighted loss on the shared sequence encoder, and the cosine between
  the two gradients (negative: the seq2seq term pulls the encoder against the next-item task);
- the norm of the intention vectors phi and the spread of the InfoNCE logits <phi, phi'> / T_s;
- the intentions: mean entropy of p(k|i) over real positions (log K = uniform, 0 = hard), how much
  of the assignment each intention takes (``intention_mass``: the mean of p(k|i) over the batch's
  real positions, not the pooled m_k of the model; collapse: one takes nearly all), and the positive's
  rank among the batch's candidates;
- the confidence mask: the share of kept (row, k) pairs per intention.

    python benchmarks/diagnose.py --dataset=lastfm --data_path=DIR [--steps=300] [--every=50] [--key=value ...]

Any further ``--key=value`` is a setting, as for the runner (for example ``--s2s_weight=1.0``).
Output: one JSON line per report on stdout.
"""

import json
import math
import sys

import torch

from recbole_disen import losses
from recbole_disen.cli import parse_run_args
from recbole_disen.runner import build, build_config


def grad_norm_and_vector(loss, params):
    """The gradient of ``loss`` on ``params``: its norm and the flattened vector."""
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    flat = torch.cat([(g if g is not None else torch.zeros_like(p)).flatten() for g, p in zip(grads, params)])
    return flat.norm().item(), flat


def report(model, batch, step):
    """Diagnostics of one batch (no parameter update)."""
    item_seq, item_len = batch[model.ITEM_SEQ], batch[model.ITEM_SEQ_LEN]
    z = model.encoder(item_seq)
    phi, mass = model.intention(z, item_len)
    last = model.gather_indexes(z, item_len - 1)
    seq2item = torch.nn.functional.cross_entropy(model.score(phi, last, model.item_embedding.weight),
                                                 batch[model.POS_ITEM_ID])
    per_intent, keep, earlier_p, future_p = model.seq2seq_terms(batch, phi, mass)
    seq2seq = losses.masked_mean(per_intent, keep)
    weight = float(model.seq2seq_weight())

    encoder = [p for p in model.encoder.parameters() if p.requires_grad]
    norm_item, g_item = grad_norm_and_vector(seq2item, encoder)
    norm_seq, g_seq = grad_norm_and_vector(weight * seq2seq, encoder)
    cosine = (g_item @ g_seq / (g_item.norm() * g_seq.norm() + 1e-12)).item()

    with torch.no_grad():
        assignment = model.intention.assignment(z)  # [B, L, K]
        real = (torch.arange(item_seq.size(1)) < item_len.unsqueeze(1)).unsqueeze(-1)  # [B, L, 1]
        entropy = -(assignment * assignment.clamp_min(1e-12).log()).sum(-1, keepdim=True)
        share = (assignment * real).sum((0, 1)) / real.sum()
        b, k, h = earlier_p.shape
        logits = earlier_p.reshape(-1, h) @ future_p.reshape(-1, h).t() / model.s2s_temperature
        positive = logits.diagonal()
        rank = (logits > positive.unsqueeze(1)).sum(1).float()
    return {
        "step": step,
        "seq2item": seq2item.item(),
        "seq2seq": seq2seq.item(),
        "s2s_weight": weight,
        "grad_norm_seq2item": norm_item,
        "grad_norm_weighted_seq2seq": norm_seq,
        "grad_cosine": cosine,
        "phi_norm": phi.norm(dim=-1).mean().item(),
        "logit_std": logits.std().item(),
        "positive_rank_median": rank.median().item(),
        "candidates": b * k,
        "assignment_entropy": (entropy * real).sum().item() / real.sum().item(),
        "uniform_entropy": math.log(k),
        "intention_mass": [round(x, 3) for x in share.tolist()],
        "kept_share_per_intention": [round(x, 3) for x in (keep.float().sum(0) / keep.sum().clamp(min=1)).tolist()],
    }


def main(argv):
    """Train for ``--steps`` and print a report every ``--every`` steps."""
    args, settings = parse_run_args(argv)
    steps = int(settings.pop("steps", 300))
    every = int(settings.pop("every", 50))
    config = build_config("DisenSeqRec", args["dataset"], args["config_files"], cmd_config=settings)
    _, train, _, _, model = build(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["learning_rate"])
    step = 0
    while step < steps:
        for batch in train:
            model.train()
            if step % every == 0:
                sys.stdout.write(json.dumps(report(model, batch, step)) + "\n")
                sys.stdout.flush()
            optimizer.zero_grad()
            sum(model.calculate_loss(batch)).backward()
            optimizer.step()
            step += 1
            if step >= steps:
                break
    sys.stdout.write(json.dumps(report(model, next(iter(train)), step)) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
