"""Library messages in the words of the command line.

The library's errors and warnings name its Python API (``form='weak'``, a keyword in
backticks, ``diagnostics_['failed_mask']``); on the command line the same thing is a
flag or an output column. The translation lives here, at the CLI layer only: the
library keeps speaking Python to Python users.
"""
from __future__ import annotations

import re

__all__ = ["cli_words", "MASK_COLUMNS"]

#: per-point diagnostics masks of the operators -> the 0/1 column ``--ply`` writes
#: for them (only when some row is marked)
MASK_COLUMNS = {"failed_mask": "failed_row", "gradient_excess_mask": "gradient_excess_row",
                "rank_deficient": "rank_deficient_row"}

# (pattern, replacement, flag the replacement needs or None); applied in order
_PHRASES = [
    (r"(?:fit the \w+ estimator and )?read its diagnostics_\['(\w+)'\]",
     lambda m: _mask_words(m.group(1)), None),
    (r"the estimator's diagnostics_\['(\w+)'\]", lambda m: _mask_words(m.group(1)), None),
    (r"diagnostics_\['(\w+)'\]", lambda m: _mask_words(m.group(1)), None),
    (r"spectrum_report_ / result\.report", "printed with the eigenvalues", None),
    (r"form='weak'", "--form weak", "form"),
    (r"use the weak form", "use --form weak", "form"),
    (r"method='(\w+)'", lambda m: f"--method {m.group(1)}", "method"),
    (r"\(give the geometry with normals; normals='auto' uses them\)",
     "(an INPUT that has normals)", None),
    (r"give the geometry's normals", "give an INPUT with normals", None),
    (r"the geometry's normals", "an INPUT with normals", None),
    (r"\(denoise=True, or o3d_meshless\.denoise_points\)",
     "first: 'o3d-meshless smooth INPUT --ply smoothed.ply', then use smoothed.ply", None),
    (r"compute more modes or use larger t", "raise --modes or give larger --times", "times"),
    (r"\blarger k\b", "larger --k", "k"),
    (r"\blower the order\b", "lower --order", "order"),
]


def _mask_words(mask):
    column = MASK_COLUMNS.get(mask)
    return (f"the {column} column of --ply (1 = that row)" if column
            else "the counts printed under 'diagnostics' (--json: \"diagnostics\")")


def cli_words(msg, flags):
    """``msg`` with the Python API's names replaced by this command's flags.

    Parameters
    ----------
    msg : str
        A library error or warning message.
    flags : dict of str to str
        The command's options: argparse ``dest`` -> its long flag (``{"k": "--k"}``).

    Returns
    -------
    text : str
        ``"`k` of LaplaceBeltrami"`` becomes ``"`--k`"``, ``form='weak'`` becomes
        ``--form weak`` (where the command has ``--form``), a diagnostics mask becomes
        the ``--ply`` column that holds it.

    Examples
    --------
    >>> cli_words("use form='weak' or a larger `k`", {"form": "--form", "k": "--k"})
    'use --form weak or a larger `--k`'
    """
    for pattern, replacement, needs in _PHRASES:
        if needs is None or needs in flags:
            msg = re.sub(pattern, replacement, msg)

    def swap(m):
        name = m.group(1)
        return f"`{flags[name]}`" if name in flags and flags[name].startswith("--") \
            else m.group(0)
    return re.sub(r"`(\w+)`(?: of [A-Z]\w+)?", swap, msg)
