"""Checks on a dataset's files before and while RecBole reads them, each failing as one clear line."""

import contextlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from logging import getLogger

import yaml
import recbole
from recbole.utils import FeatureType, ModelType
from recbole.utils.url import rename_atomic_files

from recbole_disen.errors import UserError, one_line
from recbole_disen.prepare import is_finite_number

DOWNLOAD_TIMEOUT = 20  # seconds


def recbole_url(name):
    """RecBole's download address for a dataset name, or None."""
    path = os.path.join(os.path.dirname(recbole.__file__), "properties", "dataset", "url.yaml")
    with open(path, encoding="utf-8") as f:
        return (yaml.safe_load(f) or {}).get(name)


def _first_missing(folder):
    """The outermost folder of ``folder``'s path that does not exist yet, or None."""
    missing = None
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        missing, path = path, os.path.dirname(path)
    return missing


def _download(url, folder, name):
    """Fetch and unpack RecBole's zip into ``folder``, next to any file already there (never replaced);
    returns None, or why it failed."""
    created = _first_missing(folder)
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".download-", dir=folder)
    try:
        archive = os.path.join(staging, "data.zip")
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(archive, "wb") as f:
            shutil.copyfileobj(response, f)
        with zipfile.ZipFile(archive) as z:
            z.extractall(staging)
        os.unlink(archive)
        basename = os.path.splitext(os.path.basename(url))[0]
        rename_atomic_files(staging, basename, name)
        for file in os.listdir(staging):
            target = os.path.join(folder, file)
            if not os.path.exists(target):  # a file the user already has there (a .item, a .user) is kept
                os.replace(os.path.join(staging, file), target)
        return None
    except (OSError, zipfile.BadZipFile) as error:
        shutil.rmtree(created or staging, ignore_errors=True)
        return one_line(error)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_inter_file(config):
    """The dataset's .inter file exists (downloading RecBole's copy if it has one) and looks right."""
    name, folder = config["dataset"], config["data_path"]
    path = os.path.join(folder, f"{name}.inter")
    if config["benchmark_filename"]:
        return
    if os.path.isdir(path):
        raise UserError(f"{os.path.abspath(path)} is a folder: the dataset's interactions must be a file of that name")
    if not os.path.isfile(path):
        url = recbole_url(name)
        if url:
            getLogger().info(f"{path} not found: downloading {url}")
            failure = _download(url, folder, name)
            status = f"the download from {url} failed ({failure})" if failure else None
        else:
            status = "RecBole has no download address for it"
        if status:
            parent = os.path.dirname(os.path.normpath(folder)) or "."
            raise UserError(
                f"no data for dataset '{name}': RecBole looks for {os.path.abspath(path)} and {status}; "
                f"put a RecBole atomic file there (or pass --data_path=DIR to use DIR/{name}/{name}.inter), "
                f"or convert raw data with 'recbole-disen prepare amazon-csv RATINGS.csv --out {parent} --name {name}' "
                f"(or 'prepare user-lines FILE.txt ...' for one-line-per-user text)"
            )
    check_inter_header(config, path)


OTHER_SEPARATORS = ("\t", ",", ";", "|", " ")  # what a header split into one field may be separated by instead


def check_inter_header(config, path):
    """Header with typed fields, the user, item and time fields present, and at least one row."""
    with open(path, encoding=config["encoding"] or "utf-8") as f:
        header = f.readline().rstrip("\r\n")
        first_row = f.readline().strip()
    separator = config["field_separator"]
    if header.startswith("\ufeff"):
        raise UserError(f"{path} starts with a byte-order mark, which RecBole would read as part of the first "
                        "column's name: save the file as UTF-8 without it, or set --encoding=utf-8-sig")
    fields = header.split(separator)
    other = len(fields) == 1 and next((sign for sign in OTHER_SEPARATORS if sign != separator and sign in header), None)
    if other:
        raise UserError(f"{path}: the header is one field when split by field_separator {separator!r} and holds "
                        f"{other!r}: if that separates the fields, set --field_separator={other!r} (or write the "
                        "file with tabs, RecBole's default)")
    if not header or any(":" not in field for field in fields):
        raise UserError(
            f"{path}: the first line must be a header of typed fields such as "
            f"'user_id:token<TAB>item_id:token<TAB>timestamp:float', got {header[:80]!r}"
        )
    names = {field.split(":")[0] for field in fields}
    needed = [config["USER_ID_FIELD"], config["ITEM_ID_FIELD"]]
    if config["eval_args"]["order"] == "TO":
        needed.append(config["TIME_FIELD"])
    missing = [field for field in needed if field not in names]
    if missing:
        why = ("; sequential models order each user's items by the time column"
               if config["TIME_FIELD"] in missing else "")
        raise UserError(
            f"{path}: the header has no {', '.join(missing)} column{'s' if len(missing) > 1 else ''}{why} (add "
            f"{'them' if len(missing) > 1 else 'it'}, or set USER_ID_FIELD / ITEM_ID_FIELD / TIME_FIELD to the names used)"
        )
    types = dict(field.split(":", 1) for field in fields)
    wanted = {config["USER_ID_FIELD"]: "token", config["ITEM_ID_FIELD"]: "token"}
    if config["eval_args"]["order"] == "TO":  # a token time would be numbered in order of first appearance
        wanted[config["TIME_FIELD"]] = "float"
    for name, kind in wanted.items():
        if types[name] != kind:
            raise UserError(f"{path}: the header types {name} as {types[name]!r}: make it '{name}:{kind}' "
                            f"({'ids are tokens' if kind == 'token' else 'sequences are ordered by this number'})")
    load_col = (config["load_col"] or {}).get("inter")
    if load_col is not None:
        not_loaded = [field for field in needed if field not in load_col]
        if not_loaded:
            raise UserError(f"load_col for inter leaves out {', '.join(not_loaded)}: add it to load_col")
    if not first_row:
        raise UserError(f"{path} holds a header but no interactions")
    check_rows(config, path, fields)


def check_rows(config, path, header):
    """Every row has the header's number of fields (a separator inside an id shifts the columns) and a
    finite timestamp (RecBole would fill NaN with the mean and keep inf): else one line naming the line."""
    separator = config["field_separator"]
    names = [field.split(":")[0] for field in header]
    load_col = (config["load_col"] or {}).get("inter")
    time_field = config["TIME_FIELD"]
    timed = time_field in names and f"{time_field}:float" in header and (load_col is None or time_field in load_col)
    time_index = names.index(time_field) if timed else None
    number = 1
    try:
        with open(path, encoding=config["encoding"] or "utf-8") as f:
            next(f)
            for number, line in enumerate(f, start=2):
                line = line.rstrip("\r\n")
                if not line:
                    continue  # pandas skips blank lines
                values = line.split(separator)
                if len(values) != len(header):
                    raise UserError(
                        f"{path}, line {number}: {len(values)} fields where the header has {len(header)}; a "
                        f"separator {separator!r} inside an id would shift the columns: remove it from the id"
                    )
                if time_index is not None and not is_finite_number(values[time_index]):
                    raise UserError(
                        f"{path}, line {number}: timestamp {values[time_index]!r} is not a finite number: "
                        "fix or remove the row"
                    )
    except UnicodeDecodeError:
        raise UserError(f"{path}, line {number + 1}: not {config['encoding'] or 'utf-8'} text: convert the file") from None


def drop_duplicates(config, dataset):
    """Rows equal in every loaded column: dropped (``drop_duplicate_rows``, the default) or kept, and counted.

    A duplicated last interaction is both a user's test target and part of its input or validation
    target, which inflates test metrics.
    """
    feat = dataset.inter_feat
    columns = [c for c in feat.columns if dataset.field2type[c] not in (FeatureType.TOKEN_SEQ, FeatureType.FLOAT_SEQ)]
    duplicated = feat.duplicated(subset=columns)
    count = int(duplicated.sum())
    if not count:
        return
    if config["drop_duplicate_rows"]:
        dataset.inter_feat = feat[~duplicated].reset_index(drop=True)
        getLogger().warning(
            f"dropped {count} exact duplicate rows (equal {', '.join(columns)}) of dataset '{config['dataset']}'; "
            "set drop_duplicate_rows: False to keep them"
        )
    else:
        getLogger().warning(
            f"kept {count} exact duplicate rows (equal {', '.join(columns)}) of dataset '{config['dataset']}' "
            "(drop_duplicate_rows: False); they can inflate test metrics"
        )


@contextlib.contextmanager
def readable_errors(config):
    """RecBole's parse errors for a malformed file, as one line naming the file."""
    try:
        yield
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, IndexError) as error:
        path = os.path.join(config["data_path"], f"{config['dataset']}.inter")
        raise UserError(f"cannot read {path}: {one_line(error, with_type=True, limit=300)}; check its columns and values") from None


def check_topk(config, dataset):
    """RecBole ranks for the largest ``topk`` only at the first evaluation, after an epoch of training, and
    torch.topk fails there when it exceeds the number of items: one line before any training instead."""
    # RecBole's Config makes a single topk a list; the settings' rules already refused values below 1
    check_list_length("topk", max(config["topk"]), dataset, hint=" (the bench's are 5, 10 and 20)")


def check_list_length(flag, k, dataset, hint=""):
    """One UserError unless a top-list length ``k`` (given as ``flag``) is from 1 to the dataset's items."""
    real_items = dataset.item_num - 1  # without the padding item, which is never ranked
    if not 1 <= k <= real_items:
        raise UserError(f"{flag} must be from 1 to {real_items} (the items of {dataset.dataset_name}), got {k}{hint}")


def check_split(config, dataset):
    """Leave-one-out needs a training, a validation and a test row per user: drop, and say, the others.

    A sequential model's rows are a user's items after the first, so it needs 4 interactions (3 with
    one held-out row); other models need 3 (2).
    """
    split = config["eval_args"]["split"]
    if "LS" not in split:
        return
    needed = (3 if split["LS"] == "valid_and_test" else 2) + (config["MODEL_TYPE"] == ModelType.SEQUENTIAL)
    drop_short_users(config, dataset, needed, "leave-one-out")


def drop_short_users(config, dataset, needed, protocol):
    """Drop, and say, the users with fewer than ``needed`` interactions, which ``protocol`` cannot split.

    Returns the number of users dropped; a dataset with no user left is a UserError.
    """
    users = dataset.inter_feat[dataset.uid_field]
    counts = users.value_counts()
    short = counts.index[counts < needed]
    if len(short) == len(counts):
        raise UserError(f"no user of dataset '{config['dataset']}' has {needed} or more interactions, which {protocol} needs")
    if len(short):
        dropped = users.isin(short)
        dataset.inter_feat = dataset.inter_feat[~dropped].reset_index(drop=True)
        getLogger().warning(
            f"dropped {len(short)} users with fewer than {needed} interactions "
            f"({int(dropped.sum())} interactions): {protocol} needs {needed} per user"
        )
    return len(short)
