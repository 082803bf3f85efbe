"""Keep freed frames from staying resident: glibc's malloc, told to return large blocks at once.

A 1280x720 frame is one 3.7 MB allocation (Pillow stores RGB in 4 bytes a pixel).
glibc serves blocks that large with mmap and unmaps them when freed, but after
the first such free it raises its mmap threshold to the freed size (its
"dynamic threshold", up to 32 MB). From then on frames come from the heap arenas
of the worker threads that capture, and the freed space stays resident. Setting
the threshold explicitly turns the dynamic adjustment off. Measured with
`bench/camera_take_photo.py` (synthetic 1280x720, idle 59 MB): after 100 photos
RSS 78 MB and still rising (+8 MB over the 100) with glibc's default, 63 MB and
flat (+0.5 MB) with a fixed 1 MB threshold; the extra mmap/munmap per frame does
not show in the round trip. Tried and not used: an arena limit of 2 on top of
this (0.3 MB less RSS, within run-to-run noise) and gc.freeze() after start-up
(it only lets forked children share pages; the module forks no Python process).
"""

from __future__ import annotations

import ctypes
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 1 << 20


def return_large_blocks_at_once() -> bool:
    """Fix glibc's mmap threshold at 1 MB; False (and nothing changed) where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc has it; musl (Alpine) does not
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD) refused; freed frames may stay resident")
        return False
    return True


def _libc_function(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    return getattr(ctypes.CDLL(None), name, None)  # glibc has these; musl (Alpine) does not


_malloc_trim = _libc_function("malloc_trim")


def give_back_free_memory() -> None:
    """Return the heap pages freed by a capture (encoder buffers, drawing) to the system at once.

    Measured with `bench/camera_take_photo.py`: without it RSS rises about 3 MB at the first photos and
    stays there; `malloc_trim(0)` after each capture costs well under a millisecond.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)
