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

import logging
import sys
import traceback
import warnings


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
        on stderr), 130 when interrupted.
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
    run = _Run(args, sys.stdout)
    run.o3d_level = None
    try:
        with warnings.catch_warnings():
            if args.quiet:
                warnings.simplefilter("ignore")
            else:  # one tidy line per library warning, not the source line of the caller
                warnings.showwarning = _show_warning
            _check_outputs(run)
            status = int(args.func(run) or 0)
            run.commit()
            return status
    except (ValueError, FileNotFoundError, IsADirectoryError, PermissionError,
            ImportError) as exc:
        if args.verbose:
            traceback.print_exc(file=sys.stderr)
        msg = str(exc) if not isinstance(exc, OSError) or not exc.filename else \
            f"{exc.strerror}: {exc.filename}"
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        run.discard()
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        if run.o3d_level is not None:
            sys.modules["open3d"].utility.set_verbosity_level(run.o3d_level)
        sys.stdout.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
