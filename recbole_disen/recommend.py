"""Top-k recommendations for given users from a trained checkpoint.

    recbole-disen recommend CHECKPOINT --users u1,u2 [--k 10] [--data_path DIR]

The checkpoint's stored settings rebuild the same dataset, split and model (``runner.build``); each
user's history is their whole known sequence (the test row's input plus its target), and all
requested users are scored in one batch. For DisenSeqRec each item also gets the intention that
scored it highest.
"""

import os
import sys
import tempfile

import torch
from recbole.data.interaction import Interaction
from recbole.model.abstract_recommender import SequentialRecommender

from recbole_disen import checkpoint, compat, config as disen_config, datacheck, item_names, runner
from recbole_disen.models import get_model
from recbole_disen.errors import Parser, UserError, one_line, positive_int
from recbole_disen.horizon import HORIZON_FIELD

# Stored settings that RecBole's Config refuses to take back as input: with ``local_rank`` present it
# starts distributed training (and fails on the missing ``nproc``). MODEL_TYPE, MODEL_INPUT_TYPE and
# eval_type are refused too (our Config rejects unknown settings); the known-keys filter drops them.
# train_neg_sample_args and data_path are converted back (see restore_settings).
REFUSED_KEYS = {"local_rank"}


def restore_settings(stored, data_path=None, device="cpu", trained_on=None):
    """config_dict that rebuilds the stored run's data and architecture from its final settings.

    ``data_path`` (the user's) comes first; then ``trained_on``, the absolute dataset folder that the
    checkpoint's data record holds (the stored ``data_path`` may be relative to where training ran),
    while that folder is still there under the dataset's name; else the stored one (a project moved with
    its data, read from its new root)."""
    known = disen_config.known_keys(stored.get("model"))
    settings = {key: value for key, value in stored.items() if key in known and key not in REFUSED_KEYS}
    settings.pop("model", None)
    settings.pop("dataset", None)
    settings["train_neg_sample_args"] = compat.neg_sample_args_as_input(stored.get("train_neg_sample_args"))
    if data_path is None:
        recorded = trained_on and os.path.basename(trained_on) == stored.get("dataset") and os.path.isdir(trained_on)
        data_path = compat.data_path_as_input(trained_on if recorded else stored["data_path"])
    settings["data_path"] = str(data_path)
    target = torch.device(device)
    settings["gpu_id"] = "" if target.type == "cpu" else str(target.index or 0)
    # A checkpoint from elsewhere must not point RecBole at a pickle it would load (and so run code from).
    return {**settings, **disen_config.PICKLE_SETTINGS}


def _load_weights(model, state_dict, path):
    """load_state_dict, with weights of another shape (other data, other settings) as a UserError."""
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as error:
        # torch lists every weight that does not fit, one line each: the first, and how many more
        problems = [line.strip() for line in str(error).splitlines()[1:] if line.strip()] or [one_line(error)]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(
            f"cannot load checkpoint {path}: its weights do not fit the model rebuilt from its settings and data "
            f"(is --data_path the data it was trained on?): {one_line(problems[0], limit=300)}{more}"
        ) from None


@compat.quiet_recbole_warnings()
def load_model(checkpoint_path, data_path=None, device="cpu"):
    """(config, dataset, model, test_data): the checkpoint's model, in eval mode, on its own data split.

    ``data_path`` is the folder that holds the dataset's folder (as in training); by default the one
    the checkpoint was trained from. ``device`` is "cpu" or "cuda[:N]" (RecBole's gpu_id is set from it).
    """
    state = checkpoint.read(checkpoint_path)  # tensors and plain data only, each field checked
    stored = state["config"]
    if not issubclass(get_model(stored["model"]), SequentialRecommender):
        raise UserError(f"recommend needs a sequential model; {checkpoint_path} holds a {stored['model']}")
    settings = restore_settings(stored, data_path, device, trained_on=(state.get("data") or {}).get("path"))
    # An empty checkpoint_dir: RecBole loads any saved dataloaders it finds there with pickle.
    with tempfile.TemporaryDirectory(prefix="recbole-disen-recommend-") as scratch:
        try:  # the stored settings are checked as if typed by the user: wrong types and ranges are refused
            config = runner.build_config(stored["model"], stored["dataset"], config_dict={**settings, "checkpoint_dir": scratch})
        except UserError as error:
            raise UserError(f"cannot load checkpoint {checkpoint_path}: its settings are refused: {error}") from None
        dataset, _, _, test_data, model = runner.build(config)
        checkpoint.check_same_data(state, checkpoint.fingerprint(dataset, config), checkpoint_path, "recommend")
    config["checkpoint_dir"] = stored.get("checkpoint_dir")  # not the scratch folder, which is gone
    _load_weights(model, state["state_dict"], checkpoint_path)
    model.eval()
    return config, dataset, model, test_data


def internal_user_ids(dataset, raw_user_ids):
    """Internal ids [B] of raw user ids; unknown ones (and the padding token) raise one UserError."""
    token2id = dataset.field2token_id[dataset.uid_field]
    unknown = [user for user in raw_user_ids if token2id.get(user, 0) == 0]
    if unknown:
        names = ", ".join(f"'{user}'" for user in unknown)
        raise UserError(
            f"unknown user id(s) {names}: they are not in {dataset.dataset_name}'s .inter file (after its filters)"
        )
    return torch.tensor([token2id[user] for user in raw_user_ids], dtype=torch.long)


def last_rows(split, user_ids, raw_user_ids):
    """Index [B] of each user's last row in a split; users without one raise a UserError."""
    users = split.inter_feat[split.uid_field]  # [N]
    last = torch.full((split.user_num,), -1, dtype=torch.long)
    last.scatter_reduce_(0, users, torch.arange(len(users)), reduce="amax")
    rows = last[user_ids]  # [B]
    missing = dict.fromkeys(raw_user_ids[i] for i in torch.nonzero(rows < 0).flatten().tolist())  # each once
    if missing:
        names = ", ".join(f"'{user}'" for user in missing)
        horizon = split.config["horizon"]
        why = (f"the model was trained under horizon {horizon}, which drops the users with fewer than "
               f"{2 * horizon + 2} interactions" if horizon else "too few interactions to have a test row")
        raise UserError(f"user id(s) {names}: {why}, so the model has no test row of theirs to start from")
    return rows


def append_target(item_seq, item_seq_len, target):
    """item_seq [B, L] (left-aligned, 0-padded) with ``target`` [B] appended, keeping the last L items."""
    batch, max_len = item_seq.shape
    extended = torch.cat([item_seq, item_seq.new_zeros(batch, 1)], dim=1)  # [B, L + 1]
    extended.scatter_(1, item_seq_len.unsqueeze(1), target.unsqueeze(1))
    length = item_seq_len + 1  # [B]
    shift = (length - max_len).clamp(min=0)  # [B]: 1 where the oldest item falls off
    positions = torch.arange(max_len, device=item_seq.device) + shift.unsqueeze(1)  # [B, L]
    return extended.gather(1, positions), length - shift


def history_batch(model, test_data, user_ids, raw_user_ids):
    """Interaction with each user's whole known sequence (test input + test target, or + the whole test
    horizon under the horizon protocol) as the model's input."""
    split = test_data.dataset
    rows = last_rows(split, user_ids, raw_user_ids)
    feat = split.inter_feat
    item_seq, item_seq_len = feat[model.ITEM_SEQ][rows], feat[model.ITEM_SEQ_LEN][rows]
    held_out = feat[HORIZON_FIELD][rows] if HORIZON_FIELD in feat else feat[model.POS_ITEM_ID][rows].unsqueeze(1)
    for position in range(held_out.size(1)):  # [B, N]: the N held-out items in time order (N is small)
        item_seq, item_seq_len = append_target(item_seq, item_seq_len, held_out[:, position])
    return Interaction({model.USER_ID: user_ids, model.ITEM_SEQ: item_seq, model.ITEM_SEQ_LEN: item_seq_len})


def top_items(model, interaction, k):
    """(scores [B, k], items [B, k], intentions [B, k] or None) of the k best real items."""
    with torch.no_grad():
        scores = model.full_sort_predict(interaction)  # [B, n_items]
        scores[:, 0] = -torch.inf  # the padding item
        top_scores, items = torch.topk(scores, k, dim=1)
        intentions = model.explain(interaction, items) if hasattr(model, "explain") else None
    return top_scores, items, intentions


def recommend(model, dataset, test_data, raw_user_ids, k=10):
    """[(raw user, [(raw item, score, intention or None), ...k]), ...] in the order of ``raw_user_ids``."""
    if not isinstance(model, SequentialRecommender):
        raise UserError(f"recommend needs a sequential model; {type(model).__name__} is not one")
    datacheck.check_list_length("--k", k, dataset)
    raw_user_ids = list(raw_user_ids)
    user_ids = internal_user_ids(dataset, raw_user_ids)
    device = next(model.parameters()).device
    interaction = history_batch(model, test_data, user_ids, raw_user_ids).to(device)
    scores, items, intentions = top_items(model, interaction, k)
    raw_items = dataset.id2token(dataset.iid_field, items.cpu().numpy())  # [B, k] of str (a tensor of one item would give one str)
    scores = scores.cpu().tolist()
    intentions = intentions.cpu().tolist() if intentions is not None else [[None] * len(row) for row in scores]
    return [
        (user, list(zip(raw_items[b].tolist(), scores[b], intentions[b])))
        for b, user in enumerate(raw_user_ids)
    ]


def format_recommendations(recommendations, names=None):
    """The CLI's text: ``user <raw>`` and then one line per recommended item, named where ``names`` has it."""
    lines = []
    for user, items in recommendations:
        lines.append(f"user {user}")
        for rank, (item, score, intention) in enumerate(items, start=1):
            why = f"  intention {intention}" if intention is not None else ""
            lines.append(f"  {rank}. item {item_names.label(item, names or {})}  score {score_text(score)}{why}")
    return "".join(line + "\n" for line in lines)


def score_text(score):
    """A score with 4 decimals, or 4 significant digits when it is smaller than 0.001 (some models, such as
    STAMP early in training, score every item near 0, and 4 decimals would show them all as 0.0000)."""
    return f"{score:.4f}" if score == 0 or abs(score) >= 1e-3 else f"{score:.3e}"


def parse_args(argv):
    """The recommend command's arguments."""
    parser = Parser(
        prog="recbole-disen recommend", description="Top-k items for given users from a trained checkpoint."
    )
    parser.add_argument("checkpoint", help="a .pth checkpoint written by recbole-disen")
    parser.add_argument("--users", required=True, help="comma-separated user ids as in the .inter file")
    parser.add_argument("--k", type=positive_int, default=10, help="items per user (default 10; at most the dataset's number of items)")
    parser.add_argument("--data_path", default=None,
                        help="folder holding the dataset's folder (default: the one it was trained from)")
    return parser.parse_args(argv)


def cli(argv):
    """``recbole-disen recommend``: prints each user's top-k items; returns 0."""
    args = parse_args(argv)
    users = list(dict.fromkeys(user.strip() for user in args.users.split(",") if user.strip()))  # each once
    if not users:
        raise UserError("--users needs at least one user id, e.g. --users u1,u2")
    config, dataset, model, test_data = load_model(args.checkpoint, args.data_path)
    recommendations = recommend(model, dataset, test_data, users, args.k)
    names = item_names.read(config, wanted=[item for _, items in recommendations for item, _, _ in items])
    sys.stdout.write(format_recommendations(recommendations, names))
    return 0
