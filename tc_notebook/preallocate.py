"""Reserving a file's blocks before its bytes arrive."""

from __future__ import annotations

import contextlib
import os
from typing import BinaryIO

FROM_BYTES = 1024 * 1024  # smaller files gain nothing worth a system call


def preallocate(out: BinaryIO, size: int | None) -> None:
    """Reserve `size` bytes for the file `out` is writing, when the size is
    known and the system can: the filesystem then allocates the blocks once
    instead of a few at each write (markedly quicker for large files). Best
    effort: a failure leaves the file as it was, to grow as it is written."""
    if size is not None and size >= FROM_BYTES and hasattr(os, "posix_fallocate"):
        with contextlib.suppress(OSError):
            os.posix_fallocate(out.fileno(), 0, size)
