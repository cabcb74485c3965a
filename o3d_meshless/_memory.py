"""Give the memory of freed temporaries back to the operating system between stages.

glibc's ``malloc`` keeps freed blocks below its mmap threshold (which grows to 32 MiB
once a large block is freed) in its heap, still resident. At 1e5 points the stencil
pass frees ~20 MB of such blocks just before ``L`` is allocated, and the build's peak
resident memory then counts them twice. ``malloc_trim(0)`` returns the free pages (it
takes well under a millisecond). Elsewhere (macOS, Windows, musl) this is a no-op.
"""
from __future__ import annotations

import ctypes
import functools

__all__ = ["release_freed_memory"]


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:        # the C library already loaded into this process (no ldconfig lookup)
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):       # not glibc (or no dlopen(NULL))
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return free heap pages to the OS where the C library can (glibc); ``True`` if it did."""
    trim = _malloc_trim()
    if trim is None:
        return False
    return bool(trim(0))
