"""Keep freed memory inside the process on a Linux CPU run, so large tensors stop page-faulting.

glibc's malloc gives every allocation above its mmap threshold (32 MiB at most) fresh pages from the
kernel and hands them back when the tensor is freed. A training step allocates several such tensors
and frees them again: RecBole's logits over all items ([batch, n_items] floats, 99 MB on Beauty at
batch 2048), DisenSeqRec's per-intention scores ([batch, K, n_items]) and their gradients. So every
step page-faults hundreds of MB back in, zero-filled by the kernel: on Beauty about 415,000 minor
faults and 0.9 s of system time in a DisenSeqRec step of 2.7 s CPU time (`benchmarks/alloc_time.sh`,
BENCHMARKS.md section 2). With no mmap and no trimming, freed blocks stay in the heap for the next
step: the faults go, the step's CPU time drops by a third and a full run's epoch is 1.5x faster
(measured on DisenSeqRec without the seq2seq term). The
price is memory the heap keeps: peak RSS 20-27% higher in a step's profile and 2.1x over a full Beauty
run (3.8 GiB against 1.8 GiB, DisenSeqRec without the seq2seq term), flat from epoch to epoch.

``mallopt`` is process-wide and stays set for the life of the process (a later run in the same process
with the setting off does not undo it); it changes where memory comes from, never a computed value.
Threads other than the main one may still map very large requests (glibc's other arenas); a training
step's large tensors are allocated on the main thread.
"""

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h: free memory at the top of the heap above this goes back to the OS
M_MMAP_MAX = -4  # glibc's malloc.h: how many allocations may be served by mmap at once
NEVER = -1  # as M_TRIM_THRESHOLD: "setting M_TRIM_THRESHOLD to -1 disables trimming completely" (mallopt(3))


def keep_freed_memory():
    """Have glibc serve every allocation from the heap and never trim it. True if it took effect;
    False where there is no glibc ``mallopt`` (macOS, musl), which changes nothing else."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER) == 1
