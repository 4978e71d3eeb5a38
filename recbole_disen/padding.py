"""Padding-free forward passes for sequential models whose output does not depend on padding.

RecBole stores every row left-aligned and padded to ``MAX_ITEM_LIST_LENGTH``; on the Amazon datasets
a row holds about 8 items of the 50 slots, so most of a forward pass is spent on padding. For a model
whose output for a row depends only on the row's real items (causal or masked attention, a causal
RNN, padding-masked pooling), cutting the padding is exact: the rows of a batch are grouped by length
into a few buckets, each bucket is cut to its longest row, and the outputs are put back in the batch's
order. The batch, the loss and the optimiser step stay RecBole's; only the wasted work goes.

The loop below runs once per length bucket (at most ``len(BUCKET_EDGES) + 1`` times a batch), never
once per row.
"""

import functools

import torch

# Bucket upper edges: rows of length 1-2, 3-4, 5-6, 7-8, 9-12, 13-16, 17-24, 25-32, 33-48, 49+.
# Each bucket's rows are cut to its longest row: on Beauty's training rows that leaves 1.14 slots per
# real item, against 5.97 when every row is padded to 50 (random batches of 2048).
BUCKET_EDGES = (2, 4, 6, 8, 12, 16, 24, 32, 48)

# Models whose forward(item_seq, item_seq_len, ...) gives the same output for a row however much
# padding follows it, and BERT4Rec, whose forward(item_seq) gives one output per position and whose
# real positions' outputs do not depend on the padding (its attention masks the padding slots out);
# each is checked against the padded path in tests/test_padding.py. Not here: Caser, LightSANs and
# FEARec assume a fixed length; STAMP averages every slot's embedding and RecBole's initialisation
# makes the padding item's embedding non-zero, so its output depends on the padding; models with
# feature sequences (SASRecF, GRU4RecF, FDSA) carry other padded fields. Those run as RecBole ships them.
SEQUENCE_OUTPUT_MODELS = frozenset({"BERT4Rec"})
EXACT_MODELS = frozenset({"DisenSeqRec", "SASRec", "GRU4Rec", "NARM"}) | SEQUENCE_OUTPUT_MODELS


def supports(model_name):
    """Whether the model gets padding-free batches."""
    return model_name in EXACT_MODELS


def enable(model):
    """Make ``model.forward`` padding-free (an instance attribute: the class is left untouched)."""
    cut = bucketed_sequence_forward if type(model).__name__ in SEQUENCE_OUTPUT_MODELS else bucketed_forward
    model.forward = functools.partial(cut, model.forward)
    return model


def _take(output, rows):
    """Rows of a tensor or of each tensor of a tuple."""
    if isinstance(output, tuple):
        return tuple(part[rows] for part in output)
    return output[rows]


def _cat(outputs):
    if isinstance(outputs[0], tuple):
        return tuple(torch.cat(parts) for parts in zip(*outputs))
    return torch.cat(outputs)


def _buckets(length, width):
    """The rows grouped by length bucket: (rows of each non-empty bucket, each a tensor of row indices;
    each bucket's longest length; inverse [B], the grouped order back to the batch's), or None when one
    bucket holds every row and is already ``width`` long. length [B] is each row's real length, >= 1."""
    edges = torch.tensor(BUCKET_EDGES, device=length.device)
    bucket = torch.bucketize(length, edges)  # [B], bucket b holds lengths in (edges[b-1], edges[b]]
    n_buckets = len(BUCKET_EDGES) + 1
    longest = torch.zeros(n_buckets, dtype=length.dtype, device=length.device).scatter_reduce(
        0, bucket, length, reduce="amax"
    )  # [n_buckets], 0 for an empty bucket
    counts = torch.bincount(bucket, minlength=n_buckets)  # [n_buckets]
    counts, longest = counts.tolist(), longest.tolist()  # one read back from the device per batch
    if max(counts) == len(length) and max(longest) == width:  # one bucket, already as long as the rows
        return None
    order = torch.argsort(bucket, stable=True)  # [B], rows grouped by bucket
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(len(order), device=order.device)  # [B], back to the batch's order
    groups = [(rows, cut) for rows, cut in zip(order.split(counts), longest) if cut > 0]
    return [rows for rows, _ in groups], [cut for _, cut in groups], inverse


def bucketed_forward(forward, item_seq, item_seq_len, *args, **kwargs):
    """``forward(item_seq, item_seq_len, ...)`` run per length bucket on the cut rows; same result.

    item_seq [B, L] left-aligned, 0-padded; item_seq_len [B] (0 allowed: such a row gets one slot).
    ``forward`` must return a tensor or a tuple of tensors whose first dimension is the row.
    """
    grouped = _buckets(item_seq_len.clamp(min=1, max=item_seq.size(1)), item_seq.size(1))
    if grouped is None:
        return forward(item_seq, item_seq_len, *args, **kwargs)
    rows_of, cuts, inverse = grouped
    outputs = [forward(item_seq[rows, :cut], item_seq_len[rows], *args, **kwargs) for rows, cut in zip(rows_of, cuts)]
    return _take(_cat(outputs), inverse)


def bucketed_sequence_forward(forward, item_seq):
    """``forward(item_seq)`` -> [B, L, H], one output per position (BERT4Rec's), run per length bucket on
    the cut rows and padded back to L with zeros. A row's length is its last non-zero slot (a mask token
    counts): its outputs up to its bucket's cut are the padded path's; past the cut, padding slots only,
    whose outputs BERT4Rec's loss and predictions never read, they are 0.
    """
    width = item_seq.size(1)
    slots = torch.arange(1, width + 1, device=item_seq.device)  # [L]
    length = torch.where(item_seq != 0, slots, 0).amax(1).clamp(min=1)  # [B]
    grouped = _buckets(length, width)
    if grouped is None:
        return forward(item_seq)
    rows_of, cuts, inverse = grouped
    outputs = [torch.nn.functional.pad(forward(item_seq[rows, :cut]), (0, 0, 0, width - cut))  # [b, L, H]
               for rows, cut in zip(rows_of, cuts)]
    return torch.cat(outputs)[inverse]
