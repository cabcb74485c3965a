"""Command line interface: ``o3d-meshless <subcommand> [INPUT] ...``.

Subcommands: ``spectrum``, ``gradient``, ``laplacian``, ``info`` (operators) and
``geodesic``, ``curvature``, ``hks``, ``smooth`` (the geometry toolkit).

Every subcommand reads one point cloud or mesh (any format
:func:`o3d_meshless.read_geometry` reads); without INPUT it uses the shipped sample
(the Stanford bunny) and says so. Results are printed as small tables on stdout and
saved on request: ``--out`` (``.npz``, see :func:`o3d_meshless.save_npz`),
``--ply`` (points + per-point columns), ``--png`` (headless matplotlib picture with
back-face culling, see :mod:`o3d_meshless.plot`).

Errors in the input (missing file, unsupported format, bad option values) end with one
line ``o3d-meshless: error: ...`` on stderr and exit status 2; ``-v`` adds the
traceback. ``-v`` / ``-vv`` show the library's INFO / DEBUG log (stage timings) on
stderr, ``-q`` shows errors only (and the warning about negative eigenvalues, which
``spectrum`` always prints) and turns progress bars off. Progress bars appear
only when stderr is a terminal.

Run ``o3d-meshless <subcommand> -h`` for the options of each subcommand.
"""
from __future__ import annotations

import contextlib
import copy
import glob
import json
import logging
import os
import re
import sys
import traceback
import warnings
from pathlib import Path


from .fields import evaluate_expression
from .parser import build_parser
from .run import _LOGGER, PROG, _check_outputs, _Run

__all__ = ["main", "build_parser", "evaluate_expression"]


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"{PROG}: warning: {message}", file=sys.stderr if file is None else file)


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
    """Run every job of the batch; return the exit status."""
    try:
        jobs = _jobs(args)
    except ValueError as exc:
        _error(args, exc)
        return 2
    records, status = [], 0
    for job in jobs:
        code, record = _run_one(job)
        records.append(record)
        status = status or code
        if code == 130:
            return 130
    if args.json:
        print(json.dumps(records if len(records) > 1 else records[0], indent=2,
                         allow_nan=False, default=str))
    return status


def _jobs(args):
    """One copy of ``args`` per input, with its outputs placed (``--out-dir``, ``{stem}``);
    every problem with the list is raised before any input is read."""
    inputs = []
    for item in args.inputs:
        found = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not found:
            raise ValueError(f"`INPUT` {item!r} matches no file")
        inputs.extend(found)
    inputs = inputs or [None]                     # the shipped sample
    flags = [f for f in ("out", "ply", "png") if hasattr(args, f)]
    if args.out_dir is not None:
        if not args.out_dir.is_dir():
            raise ValueError(f"`--out-dir` {str(args.out_dir)!r} is not an existing folder")
        if "out" in flags and args.out is None:
            args.out = Path("{stem}.npz")
    if len(inputs) > 1:
        fixed = [f"--{f}" for f in flags if getattr(args, f) is not None
                 and "{stem}" not in str(getattr(args, f))]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} would be written once per input: put "
                             f"{{stem}} in the name (e.g. --png '{{stem}}.png') or write "
                             "one input at a time")
    jobs = []
    for path in inputs:
        job = copy.copy(args)
        job.input = path
        stem = Path(path).stem if path is not None else "bunny"
        for f in flags:
            value = getattr(args, f)
            if value is None:
                continue
            value = Path(str(value).replace("{stem}", stem))
            if args.out_dir is not None and not value.is_absolute():
                value = args.out_dir / value
            setattr(job, f, value)
        jobs.append(job)
    _check_outputs(jobs)
    return jobs


def _error(args, exc):
    if args.verbose:
        traceback.print_exc(file=sys.stderr)
    msg = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
        f"{exc.strerror}: {exc.filename}"
    print(f"{PROG}: error: {_flag_words(msg, getattr(args, 'flag_names', {}))}",
          file=sys.stderr)


def _flag_words(msg, flags):
    """Library messages name keyword arguments ("`k` of LaplaceBeltrami"); on the command
    line the same option is a flag ("`--k`")."""
    def swap(m):
        name = m.group(1)
        return f"`{flags[name]}`" if name in flags and flags[name].startswith("--") \
            else m.group(0)
    return re.sub(r"`(\w+)`(?: of [A-Z]\w+)?", swap, msg)


def _run_one(args):
    """Run the subcommand on one input; return ``(status, record)``."""
    run = _Run(args, sys.stdout)
    try:
        with warnings.catch_warnings():
            if args.quiet or args.json:
                warnings.simplefilter("ignore")
            else:  # one tidy line per library warning, not the source line of the caller
                warnings.showwarning = _show_warning
            status = int(args.func(run) or 0)
            run.commit()
            return status, run.record
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
        run.record["input"] = str(args.input) if args.input is not None else "sample"
        run.record["error"] = _flag_words(str(exc), getattr(args, "flag_names", {}))
        return 2, run.record
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130, run.record
    finally:
        run.discard()
        if run.o3d_level is not None:
            sys.modules["open3d"].utility.set_verbosity_level(run.o3d_level)
