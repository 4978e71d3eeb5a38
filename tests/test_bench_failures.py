"""A failing run in the bench: reported in one line, the other runs and finished results kept."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from recbole_disen.bench import command, execute, folder, worker
from recbole_disen.errors import one_line
from bench_fakes import FakeRunner, bench_args, fake_result, planned

def test_failing_run_is_reported_and_others_still_stored(tmp_path):
    runner = FakeRunner(fail={("SASRec", 2021)})
    assert command.cli(bench_args(tmp_path), run_fn=runner) == 1
    assert len(runner.calls) == 4
    assert len(list((tmp_path / "runs").glob("*.json"))) == 3
    report = (tmp_path / "BENCH.md").read_text()
    assert "`toy__SASRec__seed2021`: RuntimeError: boom" in report
    assert "second line" not in report


def test_a_failing_rerun_keeps_the_finished_result(tmp_path):
    out = tmp_path / "res"
    assert command.cli(bench_args(out, "--set", "hidden_size=64"), run_fn=FakeRunner()) == 0
    before = {path.name: path.read_bytes() for path in (out / "runs").iterdir()}
    failing = FakeRunner(fail={("SASRec", 2021)})
    assert command.cli(bench_args(out, "--set", "hidden_size=32"), run_fn=failing) == 1
    after = {path.name: path.read_bytes() for path in (out / "runs").iterdir()}
    assert after.keys() == before.keys()
    assert after["toy__SASRec__seed2021.json"] == before["toy__SASRec__seed2021.json"]  # kept as it was
    assert all(after[name] != before[name] for name in after if name != "toy__SASRec__seed2021.json")
    report_text = (out / "BENCH.md").read_text()
    assert "4 finished runs read" in report_text
    assert "`toy__SASRec__seed2021`: RuntimeError: boom" in report_text


def test_a_worker_error_reaches_the_user_as_one_line(tmp_path):
    # A real worker process with the real runner; the settings pass the bench's check, the data fails in the worker.
    inter = tmp_path / "toy" / "toy.inter"
    inter.parent.mkdir()
    inter.write_text("user_id:token\titem_id:token\ttimestamp:float\nu1\ti1\t1\nu1\ti2\n")
    completed = subprocess.run(
        [sys.executable, "-m", "recbole_disen.bench", "--datasets", "toy/", "--models", "DisenSeqRec",
         "--seeds", "1", "--out", str(tmp_path / "res"), "--no-progress"],
        capture_output=True, text=True, cwd=tmp_path, check=False)
    message = f"UserError: {inter}, line 3: 2 fields where the header has 3; a separator '\\t' inside an id"
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr + completed.stdout
    errors = [line for line in completed.stderr.splitlines() if "ERROR" in line or "Error" in line]
    assert len(errors) == 1
    assert re.fullmatch(r"\S+ ERROR run toy__DisenSeqRec__seed1 failed after \d+ s: " + re.escape(message) + ".*",
                        errors[0])
    assert f"`toy__DisenSeqRec__seed1`: {message}" in (tmp_path / "res" / "BENCH.md").read_text()


def test_failure_line_drops_colours_and_later_lines():
    error = ValueError("\x1b[1mbad\x1b[0m value\nmore detail")
    assert execute.failure_line(error) == "ValueError: bad value"
    assert execute.failure_line(KeyError()) == "KeyError"
    assert one_line(error) == "bad value more detail" and one_line(error, limit=6) == "bad va"


def test_worker_entry_point_runs_job_file(tmp_path, monkeypatch):
    runner = FakeRunner(fail={("SASRec", 2020)})
    monkeypatch.setattr(worker, "_load_runner", lambda: runner)
    [good, bad] = planned(tmp_path, "--models", "DisenSeqRec,SASRec", "--seeds", "2020")
    for job, status in ((good, 0), (bad, 1)):
        job_file = tmp_path / f"{job.run_key}.job.json"
        data = {**asdict(job), "error_path": str(tmp_path / f"{job.run_key}.err")}
        job_file.write_text(json.dumps(data))
        assert worker.main([str(job_file)]) == status
    assert json.loads(Path(good.result_path).read_text())["spec"] == good.spec
    assert (tmp_path / f"{bad.run_key}.err").read_text() == "RuntimeError: boom"


FAKE_WORKER = textwrap.dedent("""
    import json, os, signal, sys
    job = json.load(open(sys.argv[1]))
    model = job["spec"]["model"]
    if model == "SASRec":
        open(job["error_path"], "w").write("ValueError: bad settings")
        sys.exit(1)
    if model == "BERT4Rec":
        os.kill(os.getpid(), signal.SIGKILL)
    result = json.load(open(sys.argv[2]))
    result.update(run_key=job["run_key"], spec=job["spec"])
    json.dump(result, open(job["result_path"], "w"))
""")


def test_subprocess_executor_records_worker_failures(tmp_path, monkeypatch):
    script, result = tmp_path / "fake_worker.py", tmp_path / "result.json"
    script.write_text(FAKE_WORKER)
    result.write_text(json.dumps(fake_result("DisenSeqRec", "toy", 2020)))
    monkeypatch.setattr(execute, "worker_command",
                        lambda job_file: [sys.executable, str(script), str(job_file), str(result)])
    args = bench_args(tmp_path, "--models", "DisenSeqRec,SASRec,BERT4Rec", "--seeds", "2020",
                      "--jobs", "2")
    assert command.cli(args) == 1
    assert [path.name for path in (tmp_path / "runs").glob("*.json")] == [
        "toy__DisenSeqRec__seed2020.json"]
    report = (tmp_path / "BENCH.md").read_text()
    assert "`toy__SASRec__seed2020`: ValueError: bad settings" in report
    assert "`toy__BERT4Rec__seed2020`: worker process killed by signal 9" in report


def test_module_entry_point_reports_user_error(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "recbole_disen.bench", "--datasets", str(tmp_path / "x.txt")],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], check=False)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: dataset path")


WAITING_WORKER = textwrap.dedent("""
    import json, pathlib, signal, sys, time
    job, marks = json.load(open(sys.argv[1])), pathlib.Path(sys.argv[2])
    def interrupted(signum, frame):
        (marks / (job["run_key"] + ".interrupted")).write_text("")
        sys.exit(130)
    signal.signal(signal.SIGINT, interrupted)
    (marks / (job["run_key"] + ".started")).write_text("")
    time.sleep(120)
""")


def test_an_interrupted_bench_interrupts_its_running_workers(tmp_path, monkeypatch):
    # The bench alone is interrupted (as by a plain `kill`, which the command turns into an interrupt):
    # each running worker must get the interrupt too, not run on after the bench has stopped.
    script, marks = tmp_path / "worker.py", tmp_path / "marks"
    script.write_text(WAITING_WORKER)
    marks.mkdir()
    monkeypatch.setattr(execute, "worker_command", lambda job_file: [sys.executable, str(script), str(job_file), str(marks)])
    jobs = planned(tmp_path / "res", "--models", "DisenSeqRec,SASRec", "--seeds", "2020")

    def interrupt_once_both_run():
        for _ in range(600):
            if len(list(marks.glob("*.started"))) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # to this process only
                return
            time.sleep(0.1)

    threading.Thread(target=interrupt_once_both_run, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        execute.run_pending(jobs, None, 2)
    assert sorted(path.name for path in marks.glob("*.interrupted")) == [
        "toy__DisenSeqRec__seed2020.interrupted", "toy__SASRec__seed2020.interrupted"]


# A bench stand-in: starts a child that asks to stop with its parent, says the child's pid, then waits.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline() == "ready\\n"
print(child.pid, flush=True)
time.sleep(120)
"""
CHILD = """
import time
from recbole_disen.bench.worker import stop_with_parent
stop_with_parent()
print("ready", flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's parent-death signal is Linux's")
def test_a_worker_stops_when_its_bench_is_killed_outright(tmp_path):
    # SIGKILL leaves the bench no chance to pass the stop on: the kernel's parent-death signal does
    parent = subprocess.Popen([sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists() and \
            Path(f"/proc/{child}/stat").read_text().split()[2] != "Z":
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"


def test_a_run_held_by_another_bench_is_left_to_it_not_failed(tmp_path, caplog):
    # the other bench process holds DisenSeqRec seed 2020's checkpoint folder for the whole of this run
    jobs = planned(tmp_path, "--models", "DisenSeqRec,SASRec", "--seeds", "2020,2021")
    held = next(job for job in jobs if job.run_key.endswith("DisenSeqRec__seed2020"))
    runner = FakeRunner()
    with caplog.at_level("INFO"):
        with folder.claimed(held.checkpoint_dir):
            failures = execute.run_pending(jobs, runner, parallel=1)
    assert failures == [] and len(runner.calls) == len(jobs) - 1 == 3
    assert "1 runs left to the other bench process running them" in caplog.text and held.run_key in caplog.text
    assert "failed" not in caplog.text
