"""Tests for recbole_disen.prepare: raw files to RecBole atomic .inter files."""

import os

import pandas as pd
import pytest

from recbole_disen.errors import UserError
from recbole_disen.cli import main
from recbole_disen.prepare import cli, convert_amazon_csv, convert_user_lines, ensure_user_lines_dataset

USER_LINES = "1 10 11 12\n\n2 11\n3 13 10\n"
USER_LINES_INTER = (
    "user_id:token\titem_id:token\ttimestamp:float\n"
    "1\t10\t1\n"
    "1\t11\t2\n"
    "1\t12\t3\n"
    "2\t11\t1\n"
    "3\t13\t1\n"
    "3\t10\t2\n"
)
AMAZON_CSV = "A2SUAM1J3GNN3B,0000013714,5.0,1355616000\nA1B2,0000013714,3.0,1355700000\n\nA1B2,B00X,1.0,1300000000\n"
AMAZON_INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "A2SUAM1J3GNN3B\t0000013714\t5.0\t1355616000\n"
    "A1B2\t0000013714\t3.0\t1355700000\n"
    "A1B2\tB00X\t1.0\t1300000000\n"
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def folder_listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_user_lines_exact_output_and_default_name(tmp_path):
    src = write(tmp_path / "amazon-beauty.txt", USER_LINES)
    path = convert_user_lines(src, tmp_path / "out")
    assert path == tmp_path / "out" / "amazon-beauty" / "amazon-beauty.inter"
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER
    assert folder_listing(path.parent) == ["amazon-beauty.inter"]


def test_user_lines_explicit_name_and_crlf_input(tmp_path):
    src = write(tmp_path / "raw.txt", USER_LINES.replace("\n", "\r\n"))
    path = convert_user_lines(src, tmp_path, name="toys_v1.0")
    assert path == tmp_path / "toys_v1.0" / "toys_v1.0.inter"
    assert path.read_bytes() == USER_LINES_INTER.encode()


@pytest.mark.parametrize("convert, text, expected", [(convert_user_lines, USER_LINES, USER_LINES_INTER),
                                                     (convert_amazon_csv, AMAZON_CSV, AMAZON_INTER)])
def test_a_byte_order_mark_is_not_part_of_the_first_id(tmp_path, convert, text, expected):
    src = write(tmp_path / "raw.txt", "\ufeff" + text)  # as some Windows editors save UTF-8
    assert convert(src, tmp_path, name="d").read_text(encoding="utf-8") == expected


def test_output_reads_back_with_pandas(tmp_path):
    path = convert_user_lines(write(tmp_path / "d.txt", USER_LINES), tmp_path)
    frame = pd.read_csv(path, sep="\t", dtype=str)
    assert list(frame.columns) == ["user_id:token", "item_id:token", "timestamp:float"]
    assert frame["timestamp:float"].astype(float).tolist() == [1.0, 2.0, 3.0, 1.0, 1.0, 2.0]
    path = convert_amazon_csv(write(tmp_path / "a.csv", AMAZON_CSV), tmp_path)
    frame = pd.read_csv(path, sep="\t", dtype=str)
    assert list(frame.columns) == ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
    assert frame["item_id:token"].tolist() == ["0000013714", "0000013714", "B00X"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1 10\n2\n", "line 2"),
        ("1 10\n\n2 11\n1 12\n", "line 4"),
    ],
    ids=["user-without-items", "duplicate-user"],
)
def test_user_lines_bad_line_names_line_number(tmp_path, text, fragment):
    src = write(tmp_path / "d.txt", text)
    with pytest.raises(UserError, match=fragment):
        convert_user_lines(src, tmp_path / "out")


def test_amazon_csv_exact_output(tmp_path):
    src = write(tmp_path / "ratings_Beauty.csv", AMAZON_CSV)
    path = convert_amazon_csv(src, tmp_path / "out")
    assert path == tmp_path / "out" / "ratings_Beauty" / "ratings_Beauty.inter"
    assert path.read_text(encoding="utf-8") == AMAZON_INTER


def test_amazon_csv_skips_exact_header_row(tmp_path):
    src = write(tmp_path / "r.csv", "user,item,rating,timestamp\n" + AMAZON_CSV)
    assert convert_amazon_csv(src, tmp_path, name="r").read_text(encoding="utf-8") == AMAZON_INTER


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("userId,itemId,rating,timestamp\nA,B,5.0,1\n", "line 1.*without a header"),
        ("A,B,5.0,1\nA,B,5.0\n", "line 2: expected 4"),
        ("A,B,5.0,1\nA,B,5.0,1,9\n", "line 2: expected 4"),
        ("A,B,5.0,1\n\nA,B,five,1\n", "line 3: rating"),
        ("A,B,5.0,1\nA,B,5.0,nan\n", "line 2: timestamp"),
        ("A,B,5.0,1\n,B,5.0,1\n", "line 2: user and item ids"),
    ],
    ids=["other-header", "too-few", "too-many", "bad-rating", "nan-timestamp", "empty-id"],
)
def test_amazon_csv_bad_line_names_line_number(tmp_path, text, fragment):
    src = write(tmp_path / "r.csv", text)
    with pytest.raises(UserError, match=fragment):
        convert_amazon_csv(src, tmp_path / "out")


@pytest.mark.parametrize("convert", [convert_user_lines, convert_amazon_csv])
def test_missing_source_names_path(tmp_path, convert):
    src = tmp_path / "nope.txt"
    with pytest.raises(UserError, match="nope.txt"):
        convert(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("convert", [convert_user_lines, convert_amazon_csv])
@pytest.mark.parametrize("text", ["", "\n  \n"], ids=["empty", "blank-lines"])
def test_empty_source_is_an_error(tmp_path, convert, text):
    src = write(tmp_path / "d.txt", text)
    with pytest.raises(UserError, match="no interactions"):
        convert(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # no empty folder left behind


def test_not_utf8_is_a_user_error(tmp_path):
    src = tmp_path / "d.txt"
    src.write_bytes(b"1 \xff\xfe\n")
    with pytest.raises(UserError, match="UTF-8"):
        convert_user_lines(src, tmp_path / "out")


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "a b", "..", "x\ty"])
def test_unsafe_name_is_rejected(tmp_path, name):
    src = write(tmp_path / "d.txt", USER_LINES)
    with pytest.raises(UserError, match="not allowed"):
        convert_user_lines(src, tmp_path / "out", name=name)


def test_unsafe_default_name_is_rejected(tmp_path):
    src = write(tmp_path / "my data.txt", USER_LINES)
    with pytest.raises(UserError, match="--name"):
        convert_user_lines(src, tmp_path / "out")


@pytest.mark.parametrize(
    ("convert", "good", "bad"),
    [
        (convert_user_lines, USER_LINES, USER_LINES + "4\n"),
        (convert_amazon_csv, AMAZON_CSV, AMAZON_CSV + "A,B,x,1\n"),
        (convert_user_lines, USER_LINES, ""),
    ],
    ids=["user-lines", "amazon-csv", "empty"],
)
def test_failed_conversion_leaves_previous_output_untouched(tmp_path, convert, good, bad):
    src = write(tmp_path / "d.txt", good)
    path = convert(src, tmp_path / "out")
    before = path.read_bytes()
    write(src, bad)
    with pytest.raises(UserError):
        convert(src, tmp_path / "out")
    assert path.read_bytes() == before
    assert folder_listing(path.parent) == ["d.inter"]


def test_output_folder_that_is_a_file_is_a_user_error(tmp_path):
    src = write(tmp_path / "d.txt", USER_LINES)
    write(tmp_path / "out", "")
    with pytest.raises(UserError, match=f"--out {tmp_path / 'out' / 'd'}: {tmp_path / 'out'} is a file, not a folder"):
        convert_user_lines(src, tmp_path / "out")


@pytest.mark.parametrize("content", ["", "u1\n", "u1 i1 i2\nu1 i3 i4\n"])  # empty, too short, a user twice
def test_a_failed_conversion_leaves_no_empty_folder_behind(tmp_path, content):
    src = write(tmp_path / "d.txt", content)
    (tmp_path / "kept").mkdir()
    with pytest.raises(UserError):
        convert_user_lines(src, tmp_path / "kept" / "new" / "deeper")
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["d.txt", "kept"]


def test_a_folder_given_as_the_input_is_named_as_such(tmp_path):
    with pytest.raises(UserError, match=f"input {tmp_path} is a folder: give the path of a file"):
        convert_user_lines(tmp_path, tmp_path / "out")


def test_cli_user_lines(tmp_path, capsys):
    src = write(tmp_path / "beauty.txt", USER_LINES)
    out = tmp_path / "data"
    assert cli(["user-lines", str(src), "--out", str(out)]) == 0
    path = out / "beauty" / "beauty.inter"
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER
    assert capsys.readouterr().out == f"wrote 6 interactions of 3 users and 4 items to {path}\n"


def test_cli_amazon_csv_with_name_and_default_out(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "ratings.csv", AMAZON_CSV)
    assert cli(["amazon-csv", "ratings.csv", "--name", "beauty"]) == 0
    assert (tmp_path / "dataset" / "beauty" / "beauty.inter").read_text(encoding="utf-8") == AMAZON_INTER
    expected_path = os.path.join("dataset", "beauty", "beauty.inter")
    assert capsys.readouterr().out == f"wrote 3 interactions of 2 users and 2 items to {expected_path}\n"


def test_cli_lets_user_error_propagate(tmp_path):
    with pytest.raises(UserError, match="missing.txt"):
        cli(["user-lines", str(tmp_path / "missing.txt")])


@pytest.mark.parametrize("argv, message", [
    (["prepare", "parquet", "x"], "argument format: invalid choice: 'parquet'"),
    (["prepare"], "the following arguments are required: format, SRC"),
    (["recommend", "--k", "abc"], "argument --k: invalid int value: 'abc'"),
    (["intentions", "--dpi"], "argument --dpi: expected one argument"),
])
def test_a_bad_command_line_is_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "--help`)" in err and err.count("\n") == 1


def test_ensure_user_lines_dataset_converts_once(tmp_path):
    src = write(tmp_path / "lastfm.txt", USER_LINES)
    cache = tmp_path / "cache"
    assert ensure_user_lines_dataset(src, cache) == (cache, "lastfm")
    path = cache / "lastfm" / "lastfm.inter"
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER
    stamp = path.stat().st_mtime_ns
    assert ensure_user_lines_dataset(str(src), str(cache)) == (cache, "lastfm")
    assert path.stat().st_mtime_ns == stamp


def test_ensure_user_lines_dataset_reconverts_when_the_source_changes(tmp_path):
    src = write(tmp_path / "lastfm.txt", USER_LINES)
    cache = tmp_path / "cache"
    ensure_user_lines_dataset(src, cache)
    path = cache / "lastfm" / "lastfm.inter"
    stamp = path.stat().st_mtime_ns
    write(src, "7 70\n")
    os.utime(src, ns=(stamp - 10**9, stamp - 10**9))  # edited, yet older than the conversion
    ensure_user_lines_dataset(src, cache)
    assert path.read_text(encoding="utf-8") == "user_id:token\titem_id:token\ttimestamp:float\n7\t70\t1\n"


def test_ensure_user_lines_dataset_never_serves_another_file_of_the_same_name(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = write(tmp_path / "a" / "lastfm.txt", USER_LINES)
    second = write(tmp_path / "b" / "lastfm.txt", "7 70\n")
    later = second.stat().st_mtime_ns + 10**9
    os.utime(first, ns=(later, later))  # the other file is older than the first one's conversion
    cache = tmp_path / "cache"
    ensure_user_lines_dataset(first, cache)
    ensure_user_lines_dataset(second, cache)
    path = cache / "lastfm" / "lastfm.inter"
    assert path.read_text(encoding="utf-8") == "user_id:token\titem_id:token\ttimestamp:float\n7\t70\t1\n"
    ensure_user_lines_dataset(first, cache)
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER


def test_ensure_user_lines_dataset_never_replaces_a_file_it_did_not_convert(tmp_path):
    src = write(tmp_path / "lastfm.txt", USER_LINES)
    mine = tmp_path / "cache" / "lastfm" / "lastfm.inter"
    mine.parent.mkdir(parents=True)
    write(mine, "my own dataset\n")
    with pytest.raises(UserError, match=f"^{mine} has no lastfm.source.json beside it, the record of a conversion by the bench "
                                        ".*so it is not replaced: delete it to convert again, or choose another --out$"):
        ensure_user_lines_dataset(src, tmp_path / "cache")
    assert mine.read_text(encoding="utf-8") == "my own dataset\n" and folder_listing(mine.parent) == ["lastfm.inter"]


def test_ensure_user_lines_dataset_converts_again_after_an_interrupted_conversion(tmp_path, monkeypatch):
    src = write(tmp_path / "lastfm.txt", "7 70\n")
    cache = tmp_path / "cache"
    ensure_user_lines_dataset(src, cache)
    write(src, USER_LINES)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr("recbole_disen.prepare.convert_user_lines", interrupted)
        with pytest.raises(KeyboardInterrupt):
            ensure_user_lines_dataset(src, cache)
    path = cache / "lastfm" / "lastfm.inter"
    assert path.read_text(encoding="utf-8") == "user_id:token\titem_id:token\ttimestamp:float\n7\t70\t1\n"  # the old one
    ensure_user_lines_dataset(src, cache)  # still its own file (its record says so), out of date: converted again
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER


def test_ensure_user_lines_dataset_missing_source(tmp_path):
    with pytest.raises(UserError, match="gone.txt"):
        ensure_user_lines_dataset(tmp_path / "gone.txt", tmp_path / "cache")


def test_an_existing_dataset_is_replaced_only_with_overwrite(tmp_path, capsys):
    out = tmp_path / "data"
    path = out / "beauty" / "beauty.inter"
    path.parent.mkdir(parents=True)
    write(path, "an earlier dataset\n")
    src = write(tmp_path / "beauty.txt", USER_LINES)
    with pytest.raises(UserError, match=f"^{path} already exists: pass --overwrite to replace it"):
        cli(["user-lines", str(src), "--out", str(out)])
    assert path.read_text(encoding="utf-8") == "an earlier dataset\n" and folder_listing(path.parent) == ["beauty.inter"]
    assert cli(["user-lines", str(src), "--out", str(out), "--overwrite"]) == 0
    assert path.read_text(encoding="utf-8") == USER_LINES_INTER


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_the_source_is_never_written_over(tmp_path, overwrite):
    """An .inter file given as its own source (the same path, or a link to it) stays as it was."""
    folder = tmp_path / "beauty"
    folder.mkdir()
    src = write(folder / "beauty.inter", AMAZON_CSV)
    os.symlink(src, tmp_path / "link.csv")
    for source in (src, tmp_path / "link.csv"):
        with pytest.raises(UserError, match="is the input file itself"):
            cli(["amazon-csv", str(source), "--out", str(tmp_path), "--name", "beauty", *overwrite])
    assert src.read_text(encoding="utf-8") == AMAZON_CSV and folder_listing(folder) == ["beauty.inter"]


def test_the_benchmark_scripts_conversion_is_cached_and_refuses_in_one_line(tmp_path, capsys):
    from conftest import load_benchmark

    convert = load_benchmark("convert")
    src = write(tmp_path / "lastfm.txt", USER_LINES)
    assert convert.main([str(src), str(tmp_path / "cache")]) == 0
    converted = tmp_path / "cache" / "lastfm" / "lastfm.inter"
    stamp = converted.stat().st_mtime_ns
    assert convert.main([str(src), str(tmp_path / "cache")]) == 0 and converted.stat().st_mtime_ns == stamp  # kept
    (tmp_path / "cache" / "lastfm" / "lastfm.source.json").unlink()
    assert convert.main([str(src), str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {converted} has no lastfm.source.json beside it")
