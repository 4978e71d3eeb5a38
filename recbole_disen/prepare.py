"""Turn raw interaction files into RecBole atomic ``.inter`` files.

Two input formats are understood:

* **user lines** (S3-Rec, ICLRec, CL4SRec, ...): one user per line, ``user_id item_id item_id ...``,
  separated by whitespace, items in chronological order. There are no timestamps, so the 1-based
  position of the item in its user's line becomes the ``timestamp:float`` column (written ``1``, ``2``, ...).
  Output header: ``user_id:token  item_id:token  timestamp:float``.
* **Amazon ratings CSV** (as published with the McAuley/UCSD Amazon review data): ``user,item,rating,timestamp``
  comma separated, no header (a first line that is exactly ``user,item,rating,timestamp`` is skipped),
  timestamp in unix seconds. Rows are copied in input order, values as written in the input.
  Output header: ``user_id:token  item_id:token  rating:float  timestamp:float``.

The output goes to ``<out_dir>/<name>/<name>.inter`` (tab separated, UTF-8, ``\\n`` line ends), written to a
temporary file first and moved into place only when complete. An existing dataset is replaced only when
asked (``overwrite``, ``--overwrite``), and the source file itself never. Point RecBole's ``data_path`` at ``out_dir``
and select the dataset with ``dataset=<name>``. Blank input lines are skipped in both formats.
"""

import argparse
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recbole_disen import files
from recbole_disen.errors import Parser, UserError

USER_LINES_HEADER = ("user_id:token", "item_id:token", "timestamp:float")
AMAZON_CSV_HEADER = ("user_id:token", "item_id:token", "rating:float", "timestamp:float")
AMAZON_CSV_HEADER_ROW = "user,item,rating,timestamp"
SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")

Row = tuple[str, ...]
RowReader = Callable[[Iterable[str]], Iterator[Row]]


@dataclass
class _Tally:
    interactions: int = 0
    users: set[str] = field(default_factory=set)
    items: set[str] = field(default_factory=set)

    def count(self, rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            self.interactions += 1
            self.users.add(row[0])
            self.items.add(row[1])
            yield row


def convert_user_lines(src, out_dir, name=None, overwrite=False) -> Path:
    """Convert a one-line-per-user file into ``out_dir/<name>/<name>.inter`` and return that path.

    ``name`` defaults to the stem of ``src``. The item's 1-based position in its user's line is the timestamp.
    Raises UserError for a missing or empty source, a user without items, a user on two lines, a bad name,
    an existing output (unless ``overwrite``) or an output that is the source.
    """
    return _convert(_user_line_rows, USER_LINES_HEADER, src, out_dir, name, overwrite)[0]


def convert_amazon_csv(src, out_dir, name=None, overwrite=False) -> Path:
    """Convert a header-less Amazon ``user,item,rating,timestamp`` CSV into ``out_dir/<name>/<name>.inter``.

    ``name`` defaults to the stem of ``src``; rows keep their input order and returns the written path.
    Raises UserError for a missing or empty source, a line without exactly four fields, an empty id,
    a rating or timestamp that is not a finite number, a bad name, an existing output (unless ``overwrite``)
    or an output that is the source.
    """
    return _convert(_amazon_csv_rows, AMAZON_CSV_HEADER, src, out_dir, name, overwrite)[0]


def ensure_user_lines_dataset(src, cache_dir, sha256=None) -> tuple[Path, str]:
    """Make sure ``cache_dir/<stem>/<stem>.inter`` is converted from the user-lines file ``src``.

    The conversion records which source it came from (its real path and a SHA-256 of its contents, in
    ``<stem>.source.json`` beside it); it converts again, replacing both, when the atomic file is missing
    or its record names another source: another file of the same name, or the same file edited. An atomic
    file without a record is not one it wrote: it stays as it is, and a UserError says so. Returns
    ``(cache_dir, stem)``: the ``data_path`` and ``dataset`` to give RecBole.
    """
    src, cache_dir = _existing_file(src), Path(cache_dir)
    name = src.stem
    target = cache_dir / name / f"{name}.inter"
    record = target.with_name(f"{name}.source.json")
    source = {"path": os.path.realpath(src), "sha256": sha256 or files.sha256_of(src)}
    if target.exists() and not record.exists():
        raise UserError(f"{target} has no {record.name} beside it, the record of a conversion by the bench (it is "
                        "not the bench's, or an interrupted conversion by an earlier version), so it is not "
                        "replaced: delete it to convert again, or choose another --out")
    if not target.exists() or _read_record(record) != source:
        files.make_folder(target.parent, "the converted data's folder")
        # A record that matches no source: a conversion interrupted from here leaves a file known as ours, out of date.
        files.write_json(record, {**source, "sha256": None})
        convert_user_lines(src, cache_dir, name, overwrite=True)
        files.write_json(record, source)
    return cache_dir, name


def _read_record(path):
    """The source record at ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def cli(argv: list[str]) -> int:
    """Run ``recbole-disen prepare``: convert one raw file and report what was written on one stdout line."""
    args = _parser().parse_args(argv)
    rows_of, header = _FORMATS[args.format]
    path, tally = _convert(rows_of, header, args.src, args.out, args.name, args.overwrite)
    sys.stdout.write(
        f"wrote {tally.interactions} interactions of {len(tally.users)} users and {len(tally.items)} items "
        f"to {path}\n"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="recbole-disen prepare",
        description=(
            "Convert a raw interaction file into a RecBole atomic file OUT/NAME/NAME.inter. "
            "Afterwards set RecBole's data_path to OUT and select the data with --dataset=NAME."
        ),
    )
    parser.add_argument(
        "format",
        choices=tuple(_FORMATS),
        help="user-lines: 'user_id item_id item_id ...' per line, items in chronological order "
        "(S3-Rec/ICLRec format; the position becomes the timestamp). "
        "amazon-csv: header-less 'user,item,rating,timestamp' Amazon ratings CSV.",
    )
    parser.add_argument("src", metavar="SRC", help="the raw input file")
    parser.add_argument(
        "--out", metavar="DIR", default="dataset", help="output folder, i.e. RecBole's data_path (default: %(default)s)"
    )
    parser.add_argument("--name", help="dataset name for --dataset=NAME (default: the stem of SRC)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace OUT/NAME/NAME.inter if it exists (never SRC itself)"
    )
    return parser


def _convert(rows_of: RowReader, header: Row, src, out_dir, name, overwrite=False) -> tuple[Path, _Tally]:
    src = _existing_file(src)
    name = _checked_name(src.stem if name is None else name)
    target = Path(out_dir) / name / f"{name}.inter"
    if target.exists() and os.path.samefile(src, target):
        raise UserError(f"{target} is the input file itself: choose another --out or --name (it is never written over)")
    if target.exists() and not overwrite:
        raise UserError(f"{target} already exists: pass --overwrite to replace it, or choose another --out or --name")
    tally = _Tally()
    with files.made_for(target.parent, "--out"), _open_text(src) as lines:
        _write_atomically(target, header, _non_empty(tally.count(rows_of(_decoded(lines, src))), src))
    return target, tally


def _user_line_rows(lines: Iterable[str]) -> Iterator[Row]:
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens:
            continue
        user, items = tokens[0], tokens[1:]
        if not items:
            raise UserError(f"line {number}: user {user} has no items; every line needs 'user_id item_id ...'")
        if user in first_line_of:
            raise UserError(
                f"line {number}: user {user} already appeared on line {first_line_of[user]}; "
                "put each user's whole sequence on one line"
            )
        first_line_of[user] = number
        for position, item in enumerate(items, start=1):
            yield user, item, str(position)


def _amazon_csv_rows(lines: Iterable[str]) -> Iterator[Row]:
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or (number == 1 and line == AMAZON_CSV_HEADER_ROW):
            continue
        yield _amazon_csv_row(line, number)


def _amazon_csv_row(line: str, number: int) -> Row:
    fields = tuple(value.strip() for value in line.split(","))
    if len(fields) != 4:
        raise UserError(
            f"line {number}: expected 4 comma-separated fields user,item,rating,timestamp, got {len(fields)}"
        )
    user, item, rating, timestamp = fields
    if not user or not item or "\t" in user + item:
        raise UserError(f"line {number}: user and item ids must be non-empty and contain no tabs")
    for label, value in (("rating", rating), ("timestamp", timestamp)):
        if not is_finite_number(value):
            raise UserError(
                f"line {number}: {label} {value!r} is not a number; "
                "the file must be user,item,rating,timestamp without a header"
            )
    return fields


_FORMATS = {"user-lines": (_user_line_rows, USER_LINES_HEADER), "amazon-csv": (_amazon_csv_rows, AMAZON_CSV_HEADER)}


def _non_empty(rows: Iterable[Row], src: Path) -> Iterator[Row]:
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise UserError(f"{src} holds no interactions: give a non-empty input file")


def is_finite_number(text: str) -> bool:
    """Whether ``text`` reads as a finite float (no NaN, no inf)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _write_atomically(target: Path, header: Row, rows: Iterable[Row]) -> None:
    """Write header and rows to ``target`` atomically (``files.atomic_open``); a failed write is one line."""
    try:
        with files.atomic_open(target, text=True) as handle:
            handle.write("\t".join(header) + "\n")
            handle.writelines("\t".join(row) + "\n" for row in rows)
    except OSError as error:
        raise UserError(f"cannot write {target}: {error.strerror}; check the --out folder") from None


def _existing_file(src) -> Path:
    src = Path(src)
    if src.is_dir():
        raise UserError(f"input {src} is a folder: give the path of a file")
    if not src.is_file():
        raise UserError(f"input file {src} not found: give the path of an existing file")
    return src


SAFE_NAME_RULE = "letters, digits, '-', '_' and '.', not starting with '.'"


def _checked_name(name: str) -> str:
    if not SAFE_NAME.fullmatch(name):
        raise UserError(f"dataset name {name!r} is not allowed: use {SAFE_NAME_RULE} (pass --name to choose one)")
    return name


def _open_text(src: Path):
    try:
        return open(src, encoding="utf-8-sig")  # a leading byte-order mark is not part of the first id
    except OSError as error:
        raise UserError(f"cannot read {src}: {error.strerror}") from None


def _decoded(lines: Iterable[str], src: Path) -> Iterator[str]:
    try:
        yield from lines
    except UnicodeDecodeError:
        raise UserError(f"{src} is not UTF-8 text: convert it to UTF-8 first") from None
