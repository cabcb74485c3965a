"""Warnings that point at the caller's line: the first frame outside this package,
however deep inside it the warning was raised (``stacklevel`` counted for you)."""
from __future__ import annotations

import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=RuntimeWarning):
    """``warnings.warn`` attributed to the user's code that called into the package."""
    level, frame = 2, sys._getframe(1)      # 2: the caller of this function
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
