"""Outputs written atomically: through a temporary file in the same folder, renamed
into place in one step, so a failed write never leaves a corrupt file or destroys the
previous one."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager, suppress
from pathlib import Path



__all__ = ["atomic_output", "replace_output"]


@contextmanager
def atomic_output(path):
    """Write ``path`` through a temporary file in the same folder, renamed on success.

    Yields the temporary path. If the body raises, the temporary file is removed and
    ``path`` (and any previous version of it) is left as it was; otherwise
    ``os.replace`` puts the new file in place in one step.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        yield Path(tmp)
        replace_output(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def replace_output(tmp, path):
    """Move a finished temporary file onto ``path`` with the permissions a plain
    ``open(path, "w")`` would have given it (mkstemp makes files private, 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)
