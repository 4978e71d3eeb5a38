"""Tests of ``recbole-disen intentions`` and of names in ``recommend``: a tiny trained DisenSeqRec whose
dataset has a ``.item`` file with names, the picture, the text, and one-line errors."""

import dataclasses
import io
import re

import pytest
from PIL import Image

from conftest import TINY, tiny_sequences, write_inter
from recbole_disen import cli, intention_plot, intention_report, intentions, recommend
from recbole_disen.runner import run

UNNAMED = "i7"  # the one item whose name is empty in the .item file
ITEM_LINE = re.compile(r'^ +(\d+) +((?:\d\.\d{3}  )+)(\d\.\d{3})   (\S+)(?: "(.+)")?$')


def train(model, folder):
    """(run result, data folder) of a tiny 1-epoch run whose dataset also has a .item file with names."""
    sequences = tiny_sequences()
    write_inter(folder / "data", "tiny", sequences)
    items = sorted({item for items in sequences.values() for item in items}, key=lambda item: int(item[1:]))
    rows = [f"{item}\t{'' if item == UNNAMED else 'Film number ' + item[1:]}\t1990" for item in items]
    (folder / "data" / "tiny" / "tiny.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    settings = {**TINY, "epochs": 1, "data_path": str(folder / "data"), "checkpoint_dir": str(folder / "saved")}
    return run(model, "tiny", config_dict=settings), folder / "data"


@pytest.fixture(scope="module")
def disen(tmp_path_factory):
    """Path of a tiny trained DisenSeqRec checkpoint."""
    return train("DisenSeqRec", tmp_path_factory.mktemp("disen"))[0]["checkpoint"]


def user_items_all():
    """Every raw item id of the tiny dataset."""
    return {item for items in tiny_sequences().values() for item in items}


def name_of(item):
    return None if item == UNNAMED else f"Film number {item[1:]}"


def test_cli_writes_text_with_names_and_the_picture(disen, tmp_path, capsys):
    out = tmp_path / "pictures" / "intentions.png"
    assert cli.main(["intentions", disen, "--user", "u3", "--summary", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    sequence = tiny_sequences()["u3"][-TINY["MAX_ITEM_LIST_LENGTH"]:]
    assert lines[0] == f"user u3: the {len(sequence)} items the model reads, oldest first"
    rows = [ITEM_LINE.match(line) for line in lines[2:2 + len(sequence)]]
    assert all(rows) and [int(row.group(1)) for row in rows] == list(range(1, len(sequence) + 1))
    assert [row.group(4) for row in rows] == sequence  # oldest first, most recent last
    assert [row.group(5) for row in rows] == [name_of(item) for item in sequence]
    for row in rows:  # p(k|i) is a distribution over the 2 intentions (to the 3 decimals printed)
        assert sum(float(v) for v in row.group(2).split()) == pytest.approx(1.0, abs=2e-3)
    assert sum(float(row.group(3)) for row in rows) == pytest.approx(1.0, abs=len(rows) * 5e-4)
    top = [line for line in lines if re.match(r"^    \d\. ", line)]
    assert len(top) == 2 * 5 and all(re.match(r'^    \d\. i\d+ "Film number \d+"  -?\d+\.\d{4}$', line)
                                      for line in top if " i7 " not in line)
    assert "dataset tiny: 60 test rows" in lines and lines[-1] == f"picture: {out}"
    with Image.open(out) as image:
        image.verify()
    with Image.open(out) as image:
        # 15 in at 100 dpi; height: 1.6 in + 0.26 in x 14 text lines (2 intentions x (5 items + 2)), + 3.2 in.
        assert image.format == "PNG" and image.size == (1500, round(100 * (1.6 + 0.26 * 14 + 3.2)))
        pixels = image.convert("L").getdata()
        assert sum(1 for value in pixels if value < 128) > 5000  # drawn on, not blank


def test_summary_text_matches_the_computation(disen, capsys):
    config, _, model, test_data = recommend.load_model(disen)
    summary = intentions.dataset_intentions(model, test_data, k=10)
    assert cli.main(["intentions", disen, "--summary"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [f"dataset tiny: {summary.rows} test rows", "  intention  mean mass  top-10 wins"]
    shown = [tuple(float(v) for v in line.split()[1:]) for line in lines[2:]]
    assert shown == [(round(m, 3), round(w, 3)) for m, w in zip(summary.mass, summary.wins)]
    assert sum(m for m, _ in shown) == pytest.approx(1.0, abs=2e-3) and sum(w for _, w in shown) == pytest.approx(1.0, abs=2e-3)


def test_picture_grows_with_the_history(disen):
    _, dataset, model, test_data = recommend.load_model(disen)
    user = intentions.user_intentions(model, dataset, test_data, "u1", top_n=1)  # text: 2 x (1 + 2) lines
    assert len(user.items) == 10 and all(len(items) == 1 and items[0][0] in user_items_all() for items in user.top_items)
    sizes = []
    for length in (2, 10):
        part = dataclasses.replace(user, items=user.items[:length], assignment=user.assignment[:length],
                                   importance=user.importance[:length])
        with Image.open(io.BytesIO(intention_plot.render(user=part))) as image:
            sizes.append(image.size)
    assert sizes == [(1500, round(100 * (1.6 + 0.26 * 6))), (1500, round(100 * (1.6 + 0.26 * 10)))]


def test_recommend_names_items_beside_ids(disen, capsys):
    assert cli.main(["recommend", disen, "--users", "u5", "--k", "40"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "user u5" and len(lines) == 41
    for line in lines[1:]:
        match = re.match(r'^  \d+\. item (i\d+)(?: "(.+)")?  score -?\d+\.\d{4}  intention [01]$', line)
        assert match and match.group(2) == name_of(match.group(1))


@pytest.mark.parametrize("args, message", [
    (["--user", "nobody"], "unknown user id(s) 'nobody'"),
    ([], "say what to show: --user U, --summary, or both"),
    (["--summary", "--out", "picture.jpg"], "--out must end in .png"),
    (["--user", "u1", "--top", "0"], "argument --top: must be at least 1, got 0"),
    (["--summary", "--k", "-3"], "argument --k: must be at least 1, got -3"),
    (["--summary", "--k", "2.5"], "argument --k: invalid int value: '2.5'"),
    (["--user", " "], "--user needs a user id, e.g. --user u1"),
    (["--summary", "--overwrite"], "--overwrite replaces the --out picture: give --out PICTURE.png"),
    (["--summary", "--dpi", "5"], "--dpi must be between 20 and 600"),
])
def test_bad_input_is_one_error_line(disen, capsys, args, message):
    assert cli.main(["intentions", disen] + args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and message in captured.err


def test_an_existing_file_is_replaced_only_when_asked_and_only_if_a_png(disen, tmp_path, capsys):
    notes = tmp_path / "notes.png"
    notes.write_text("my notes")
    assert cli.main(["intentions", disen, "--summary", "--out", str(notes)]) == 2
    assert "exists and is not a PNG picture" in capsys.readouterr().err and notes.read_text() == "my notes"
    old = tmp_path / "old.png"
    old.write_bytes(intention_report.PNG_SIGNATURE + b"old picture")
    assert cli.main(["intentions", disen, "--summary", "--out", str(old), "--dpi", "50"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --out {old} exists: add --overwrite to replace it, or choose another name\n"
    assert old.read_bytes() == intention_report.PNG_SIGNATURE + b"old picture"  # not asked: left as it is
    assert cli.main(["intentions", disen, "--summary", "--out", str(notes), "--overwrite"]) == 2
    assert notes.read_text() == "my notes"  # a file that is not a picture, never
    assert cli.main(["intentions", disen, "--summary", "--out", str(old), "--dpi", "50", "--overwrite"]) == 0
    with Image.open(old) as image:
        assert image.size == (750, 160)  # 15 in x 3.2 in at 50 dpi


def test_a_picture_that_cannot_be_written_fails_before_the_work(disen, tmp_path, capsys, monkeypatch):
    (tmp_path / "notes.txt").write_text("my notes")
    monkeypatch.setattr(intention_report.recommend, "load_model", lambda *args: pytest.fail("the work started"))
    for out, message in [(tmp_path / "notes.txt" / "x.png", f"{tmp_path / 'notes.txt'} is a file, not a folder"),
                         ("/proc/no-such-folder/x.png", "/proc/no-such-folder: no folder can be made in /proc")]:
        assert cli.main(["intentions", disen, "--summary", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: --out ") and message in err
    assert (tmp_path / "notes.txt").read_text() == "my notes"
    monkeypatch.undo()
    assert cli.main(["intentions", disen, "--user", "nobody", "--out", str(tmp_path / "new" / "x.png")]) == 2
    assert not (tmp_path / "new").exists()  # a failed command leaves no folder behind
    capsys.readouterr()
    new = tmp_path / "pictures" / "of" / "u1.png"  # a folder that does not exist yet is made
    assert cli.main(["intentions", disen, "--user", "u1", "--out", str(new), "--dpi", "20"]) == 0
    assert new.read_bytes().startswith(intention_report.PNG_SIGNATURE)


def test_a_sasrec_checkpoint_has_no_intentions(tmp_path, capsys):
    result, _ = train("SASRec", tmp_path)
    capsys.readouterr()  # training's own output
    assert cli.main(["intentions", result["checkpoint"], "--summary"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: intentions need a DisenSeqRec checkpoint; this one holds SASRec, which has no intentions\n"
    )
