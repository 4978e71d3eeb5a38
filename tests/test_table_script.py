"""benchmarks/cpu_table.sh turns a PIECE into one bench command, and refuses a malformed one in one line."""

import subprocess
from pathlib import Path

import pytest

TABLE = Path(__file__).resolve().parents[1] / "benchmarks" / "cpu_table.sh"


def table(piece, tmp_path):
    """(return code, stderr, the arguments the script gave python3) for PIECE, with a python3 that records them."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "python3").write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "argv"}\n')
    (fake / "python3").chmod(0o755)
    (tmp_path / "data").mkdir(exist_ok=True)
    done = subprocess.run(["bash", str(TABLE)], cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": f"{fake}:/usr/bin:/bin", "PIECE": piece, "DATA": str(tmp_path / "data"),
                               "OUT": str(tmp_path / "out")})
    argv = (tmp_path / "argv").read_text().splitlines() if (tmp_path / "argv").exists() else None
    return done.returncode, done.stderr, argv


def settings(argv):
    return [argv[i + 1] for i, word in enumerate(argv) if word == "--set"]


def test_a_projection_piece_runs_disenseqrec_at_the_grid_point_with_the_projection(tmp_path):
    rc, _, argv = table("toys-2021-proj:5e-4:0.5", tmp_path)
    assert rc == 0 and argv[:2] == ["-m", "recbole_disen.bench"]
    assert argv[argv.index("--datasets") + 1] == str(tmp_path / "data" / "amazon-toys.txt")
    assert argv[argv.index("--seeds") + 1] == "2021"
    label = "DisenSeqRec@proj_lr5e-4_do0.5"
    assert argv[argv.index("--models") + 1] == label
    assert settings(argv)[-4:] == [f"{label}:learning_rate=5e-4", f"{label}:hidden_dropout_prob=0.5",
                                   f"{label}:attn_dropout_prob=0.5", f"{label}:intent_projection=True"]


def test_a_grid_piece_sets_the_point_and_nothing_else(tmp_path):
    rc, _, argv = table("beauty-2020-grid:SASRec:1e-3:0.6", tmp_path)
    label = "SASRec@lr1e-3_do0.6"
    assert rc == 0 and argv[argv.index("--models") + 1] == label
    assert settings(argv)[-3:] == [f"{label}:learning_rate=1e-3", f"{label}:hidden_dropout_prob=0.6",
                                   f"{label}:attn_dropout_prob=0.6"]
    assert not any("intent_projection" in s for s in settings(argv))


@pytest.mark.parametrize("piece", ["toys-2020-proj:5e-4", "toys-2020-proj:fast:0.5", "toys-2020-proj:5e-4:0.5:x",
                                   "toys-2020-grid:BERT4Rec:5e-4:0.5", "toys-2020-grid:SASRec:5e-4:1.5"])
def test_a_malformed_point_is_one_line_and_runs_nothing(tmp_path, piece):
    rc, err, argv = table(piece, tmp_path)
    assert rc == 2 and argv is None
    assert err.count("\n") == 1 and err.startswith(f"unknown PIECE {piece}: a grid point is grid:MODEL:LR:DROPOUT")


@pytest.mark.parametrize(("piece", "file"), [("sports-2020-sasrec", "amazon-sports.txt"), ("yelp-2020-nos2s", "yelp.txt")])
def test_sports_and_yelp_pieces_read_their_own_file(tmp_path, piece, file):
    rc, _, argv = table(piece, tmp_path)
    assert rc == 0 and argv[argv.index("--datasets") + 1] == str(tmp_path / "data" / file)


def test_an_unknown_dataset_is_one_line_and_runs_nothing(tmp_path):
    rc, err, argv = table("movies-2020-sasrec", tmp_path)
    assert rc == 2 and argv is None
    assert err == "unknown PIECE movies-2020-sasrec: the dataset is beauty, toys, sports or yelp\n"
