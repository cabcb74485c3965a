"""Command line interface: ``o3d-meshless <subcommand> [INPUT] ...``.

Subcommands: ``spectrum``, ``gradient``, ``laplacian``, ``info`` (operators) and
``geodesic``, ``curvature``, ``hks``, ``smooth`` (the geometry toolkit), ``logmap``,
``transport`` (tangent vector fields).

Every subcommand reads point clouds or meshes (any format
:func:`o3d_meshless.read_geometry` reads); without INPUT it uses the shipped sample
(the Stanford bunny) and says so. Several inputs (or a quoted glob) run one after the
other: in text and ``-q`` output each starts with a ``==> INPUT <==`` header, and a
summary line ``N ok, M failed`` ends the batch. Results are printed as small tables on
stdout and saved on request with one output model (:mod:`o3d_meshless.cli.outputs`):
``--out`` (``.npz``, see :func:`o3d_meshless.load_npz`), ``--ply`` (points + per-point
columns, keeping the input's faces, colours, normals and columns), ``--png`` (headless
matplotlib picture with back-face culling, see :mod:`o3d_meshless.plot`). Default names
are ``{stem}.{command}.<suffix>``; an existing output is replaced only with ``--force``.

``--json`` prints one JSON object per input on its own line, following the versioned
schema of its command (:mod:`o3d_meshless.cli.schema`); warnings go into its
``warnings`` list and (unless ``-q``) on stderr, in the words of the command line.

Errors in the input (missing file, unsupported format, bad option values) end with one
line ``o3d-meshless: error: ...`` on stderr and exit status 2; ``-v`` adds the
traceback. ``-v`` / ``-vv`` show the library's INFO / DEBUG log on stderr; ``-v``
includes the timing of every step and library stage. ``-q`` shows errors only (and
the warning about negative eigenvalues, which ``spectrum`` always prints) and turns
progress bars off. Progress bars appear only when stderr is a terminal: a progress
line for every step that takes more than 2 s, the library's stage bars below it.

Run ``o3d-meshless <subcommand> -h`` for the options of each subcommand.
"""
from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import re
import sys
import traceback
import warnings


from .fields import evaluate_expression
from .messages import cli_words
from .outputs import check_outputs, make_out_dir, place_outputs
from .parser import build_parser
from .run import _LOGGER, PROG, _Run

__all__ = ["main", "build_parser", "evaluate_expression"]

# options whose values may start with "-" (--up -y, --view -10,30): argparse would
# take such a value for an option, so "--up -y" becomes "--up=-y" before parsing
_NUMBER = r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?"
_NEGATIVE_VALUES = {"--up": re.compile(rf"^(?:-[xyz]|{_NUMBER},{_NUMBER},{_NUMBER})$"),
                    "--view": re.compile(r"^-?[0-9.]+(e-?[0-9]+)?,-?[0-9.]")}


def _join_negative_values(argv):
    """``argv`` with ``--up -y`` and ``--view -10,30`` written as ``--up=-y`` ..."""
    out, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            out.extend(argv[i:])
            break
        value = argv[i + 1] if i + 1 < len(argv) else None
        if token in _NEGATIVE_VALUES and value is not None and value.startswith("-") \
                and _NEGATIVE_VALUES[token].match(value):
            out.append(f"{token}={value}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def main(argv=None):
    """Run the ``o3d-meshless`` command; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 2 for a usage or input error (one ``o3d-meshless: error:`` line
        on stderr per failed input; the other inputs still run), 130 when interrupted,
        141 when stdout is closed early (``| head``; no traceback).
    """
    parser = build_parser()
    argv = _join_negative_values(list(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    args.verbose = getattr(args, "verbose", 0) or 0
    args.quiet = bool(getattr(args, "quiet", False))

    logger = logging.getLogger(_LOGGER)
    old_level = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    level = (logging.ERROR if args.quiet else logging.DEBUG if args.verbose >= 2
             else logging.INFO if args.verbose == 1 else logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        status = _run_jobs(args)
        sys.stdout.flush()                # a closed pipe shows here when output is short
        return status
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly, like a command killed by SIGPIPE
        _silence_stdout()
        return 141
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _silence_stdout():
    """Point stdout at /dev/null so that the interpreter's final flush of what is still
    buffered does not print a second BrokenPipeError."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _run_jobs(args):
    """Run every job of the batch; return the exit status.

    A batch (several inputs) names each input in a header line before its results
    (text and -q) and ends with a summary line (on stderr with --json, whose stdout
    holds one JSON line per input and nothing else)."""
    try:
        jobs = _jobs(args)
    except ValueError as exc:
        _error(args, exc)
        return 2
    batch = len(jobs) > 1
    status, failed = 0, 0
    for i, job in enumerate(jobs):
        if batch and not args.json:
            print(f"{'' if i == 0 else chr(10)}==> {_shown(job.input)} <==", flush=True)
        code, record = _run_one(job)
        if args.json:
            print(json.dumps(record, allow_nan=False, default=str), flush=True)
        failed += code != 0
        status = status or code
        if code == 130:
            return 130
    if batch and not (args.json and args.quiet):
        print(f"{PROG}: {len(jobs) - failed} ok, {failed} failed ({len(jobs)} inputs)",
              file=sys.stderr if args.json else sys.stdout)
    return status


def _shown(path):
    return "the shipped sample" if path is None else str(path)


def _jobs(args):
    """One copy of ``args`` per input, with its outputs placed (``--out-dir``, ``{stem}``);
    every problem with the list or the outputs is raised before any input is read."""
    inputs = []
    for item in args.inputs:
        found = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not found:
            raise ValueError(f"`INPUT` {item!r} matches no file")
        inputs.extend(found)
    inputs = inputs or [None]                     # the shipped sample
    jobs = place_outputs(args, inputs)
    made = make_out_dir(args.out_dir)
    try:
        check_outputs(jobs, force=getattr(args, "force", False))
    except ValueError:
        for folder in made:                       # a refused batch leaves nothing behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return jobs


def _error(args, exc):
    if args.verbose:
        traceback.print_exc(file=sys.stderr)
    print(f"{PROG}: error: {_message(args, exc)}", file=sys.stderr)


def _message(args, exc):
    msg = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
        f"{exc.strerror}: {exc.filename}"
    return cli_words(msg, getattr(args, "flag_names", {}))


def _run_one(args):
    """Run the subcommand on one input; return ``(status, record)``."""
    run = _Run(args, sys.stdout)
    try:
        with warnings.catch_warnings():
            # every warning of every input is reported (not once per source line)...
            warnings.simplefilter("always")
            # ...except the deprecations of the libraries underneath
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
                warnings.simplefilter("ignore", category)
            warnings.showwarning = run.show_warning
            status = int(args.func(run) or 0)
            run.commit()
            return status, run.final_record()
    except BrokenPipeError:
        raise                            # stdout is gone: main stops the whole batch
    except (ValueError, OSError, MemoryError, ImportError, RuntimeError) as exc:
        # OSError: a full disk or a folder made read-only while the job ran;
        # RuntimeError: a solver or a compiled library gave up (ARPACK, Open3D)
        if isinstance(exc, MemoryError):
            exc = MemoryError(f"out of memory ({str(exc) or 'no detail'}); try fewer points, a "
                              "smaller --k or fewer modes")
        elif isinstance(exc, RuntimeError):
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        _error(args, exc)
        record = run.final_record()
        record = {"schema": record["schema"], "command": record["command"],
                  "input": record["input"], "error": _message(args, exc),
                  "warnings": record["warnings"]}
        return 2, record
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130, run.final_record()
    finally:
        run.close_progress()
        run.discard()
        if run.o3d_level is not None:
            sys.modules["open3d"].utility.set_verbosity_level(run.o3d_level)
