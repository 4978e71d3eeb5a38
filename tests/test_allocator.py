"""keep_freed_memory: freed blocks are reused without new page faults, and the runner applies it on CPU runs.

The allocator check runs in a fresh Python process each time: mallopt is process-wide and stays set.
"""

import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recbole_disen import allocator
from recbole_disen.runner import run

# Allocate, write and free a 64 MiB tensor 20 times; the minor page faults of the last 5 times.
STEADY_STATE_FAULTS = textwrap.dedent("""
    import resource, sys
    import torch
    from recbole_disen import allocator
    applied = allocator.keep_freed_memory() if sys.argv[1] == "keep" else None
    def fill():
        torch.empty(16 * 2 ** 20, dtype=torch.float32).fill_(1.0)  # 64 MiB: over glibc's mmap threshold
    for _ in range(15):  # the heap settles (its first blocks are a little short of the aligned request)
        fill()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        fill()
    sys.stdout.write(f"{applied} {resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}")
""")


def steady_state_faults(mode):
    out = subprocess.run([sys.executable, "-c", STEADY_STATE_FAULTS, mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


def transparent_huge_pages_always():
    """Under THP 'always' a fresh 64 MiB mapping faults in 2 MiB pages: the default's count is not 16,384."""
    try:
        return "[always]" in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
@pytest.mark.skipif(transparent_huge_pages_always(), reason="page faults come in 2 MiB pages under THP 'always'")
def test_freed_large_blocks_are_reused_without_page_faults():
    # 64 MiB in 4 KiB pages is 16,384 pages: glibc's default maps them afresh each time and faults each in
    applied, faults = steady_state_faults("default")
    assert applied == "None" and faults >= 5 * 16_000
    applied, faults = steady_state_faults("keep")
    assert applied == "True" and faults < 500


@pytest.mark.parametrize("keep, calls", [(True, 1), (False, 0)])
def test_a_cpu_run_keeps_freed_memory_unless_told_not_to(keep, calls, tiny_settings, monkeypatch):
    called = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: called.append(1) or True)
    run("SASRec", "tiny", config_dict={**tiny_settings, "epochs": 1, "keep_freed_memory": keep})
    assert len(called) == calls
