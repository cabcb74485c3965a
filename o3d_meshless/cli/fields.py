"""Scalar fields given on the command line: a column of the input, a file, or a safe
expression in x, y, z and r = |p| (no Python evaluation)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np


_FUNCS = {name: getattr(np, name) for name in (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh",
    "exp", "log", "log10", "sqrt", "abs", "sign", "minimum", "maximum", "floor", "ceil")}
_CONSTS = {"pi": np.pi, "e": np.e}
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
           ast.Div: np.divide, ast.Pow: np.power, ast.Mod: np.mod}
_UNOPS = {ast.USub: np.negative, ast.UAdd: np.positive}


def evaluate_expression(expr, points):
    """Evaluate a small arithmetic expression in ``x, y, z, r`` at every point.

    Only numbers, ``x y z r pi e``, ``+ - * / ** %`` and the numpy functions
    ``sin cos tan arcsin arccos arctan arctan2 sinh cosh tanh exp log log10 sqrt abs
    sign minimum maximum floor ceil`` are allowed (parsed with :mod:`ast`, never
    ``eval``). ``r`` is the distance to the centroid. Each function takes exactly its
    number of operands (a NumPy ufunc would read an extra one as its output array), and
    the evaluation works on a private copy: ``points`` is never modified.

    Parameters
    ----------
    expr : str
        The expression, e.g. ``"sin(3*x) + y**2"``.
    points : array_like, shape (n, 2) or (n, 3)
        Where to evaluate it (``z`` is 0 for planar points).

    Returns
    -------
    values : ndarray, shape (n,)
        Float64 values, all finite.

    Raises
    ------
    ValueError
        A syntax error, a name or function that is not allowed, a wrong number of
        arguments, a number too large for a float, or a NaN/inf result.

    Examples
    --------
    >>> import numpy as np
    >>> evaluate_expression("x + 2*y", np.array([[1.0, 2.0, 0.0]]))
    array([5.])
    """
    # a private copy: whatever the expression does, the caller's array is never touched
    pts = np.array(points, dtype=np.float64, copy=True)
    names = {"x": pts[:, 0], "y": pts[:, 1],
             "z": pts[:, 2] if pts.shape[1] > 2 else np.zeros(len(pts)),
             "r": np.linalg.norm(pts - pts.mean(axis=0), axis=1), **_CONSTS}
    for value in names.values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False    # a ufunc's `out` can then never write into x
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except RecursionError:
        raise ValueError(f"`--field` is nested too deeply ({len(expr)} characters); "
                         "use a .npy file of values") from None
    except SyntaxError as exc:
        raise ValueError(f"`--field` {expr!r} is not a valid expression ({exc.msg})") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            try:
                return float(node.value)
            except OverflowError:        # a 400-digit integer literal
                raise ValueError(f"`--field` {expr!r}: the number {str(node.value)[:20]}... "
                                 "is too large for a float (at most about 1.8e308)") from None
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNOPS:
            return _UNOPS[type(node.op)](ev(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and not node.keywords):
            fn = _FUNCS[node.func.id]
            # a ufunc takes its output array as an extra positional argument: sin(x, x)
            # would write into x, so exactly `nin` arguments are accepted
            if len(node.args) != fn.nin:
                raise ValueError(f"`--field` {expr!r}: {node.func.id}() takes exactly "
                                 f"{fn.nin} argument{'s' if fn.nin > 1 else ''}; got "
                                 f"{len(node.args)}")
            return fn(*[ev(a) for a in node.args])
        what = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
        raise ValueError(f"`--field` {expr!r}: {what!r} is not allowed; use numbers, "
                         f"x, y, z, r, pi, e, + - * / ** % and {', '.join(sorted(_FUNCS))}")

    try:
        with np.errstate(all="ignore"):
            values = np.broadcast_to(np.asarray(ev(tree), dtype=np.float64), (len(pts),)).copy()
    except TypeError as exc:             # e.g. sin(x, y, z): wrong number of arguments
        raise ValueError(f"`--field` {expr!r}: {exc}") from None
    except RecursionError:
        raise ValueError(f"`--field` is nested too deeply ({len(expr)} characters); "
                         "use a .npy file of values") from None
    if not np.isfinite(values).all():
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise ValueError(f"`--field` {expr!r} gives NaN or inf at {bad} point(s)")
    return values


def _column(spec, raw, n):
    values = raw.numpy() if hasattr(raw, "numpy") else np.asarray(raw)
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (n,):
        raise ValueError(f"`--field` column {spec!r} of the input must hold one value per "
                         f"point, shape ({n},); got {values.shape} (pick one component, "
                         f"e.g. an expression, or save it as a .npy file)")
    values = values.astype(np.float64)
    if np.isinf(values).any():     # NaN: no value (outliers excluded); the operator checks
        raise ValueError(f"`--field` column {spec!r} contains inf")
    return values


# a column name: an identifier, dots only before digits (hks_t0.01; os.system is no column)
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*(?:\.\d[\w.]*)?$")
_EXPRESSION_NAMES = {"x", "y", "z", "r", *_CONSTS}
_RESERVED_COLUMNS = {"x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "alpha"}


def field_name(spec, geom=None):
    """The name a ``--field`` keeps in outputs.

    Parameters
    ----------
    spec : str
        The ``--field`` value.
    geom : geometry, optional
        The input, whose columns ``spec`` may name.

    Returns
    -------
    name : str
        The column's own name, a ``.npy`` file's stem, else ``"field"`` (an expression
        or a coordinate).

    Examples
    --------
    >>> field_name("sin(3*x)"), field_name("scans/height.npy")
    ('field', 'height')
    """
    if geom is not None:
        from ..sampling.contents import point_columns

        if spec in point_columns(geom) and spec not in _RESERVED_COLUMNS:
            return spec
    if spec.lower().endswith(".npy"):
        stem = Path(spec).stem
        if _IDENTIFIER.match(stem) and stem not in _RESERVED_COLUMNS:
            return stem
    return "field"


def _field(spec, points, geom=None):
    """Per-point values from ``--field``: a column of the input, a .npy file, or an
    expression."""
    n = len(points)
    cols = {}
    if geom is not None:
        from ..sampling.contents import point_columns

        cols = point_columns(geom)
        if spec in cols:
            return _column(spec, cols[spec], n)
    path = Path(spec)
    if spec.lower().endswith(".npy"):
        if not path.is_file():
            raise FileNotFoundError(2, "no such file", spec)
        values = np.load(path, allow_pickle=False)
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.shape != (n,):
            raise ValueError(f"`--field` file {spec!r} must hold one value per point, shape "
                             f"({n},); got {values.shape}")
        if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
            raise ValueError(f"`--field` file {spec!r} must hold real numbers; got dtype "
                             f"{values.dtype}")
        values = values.astype(np.float64)
        if np.isinf(values).any():
            raise ValueError(f"`--field` file {spec!r} contains inf")
        return values
    if _IDENTIFIER.match(spec.strip()) and spec.strip() not in _EXPRESSION_NAMES \
            and spec.strip() not in _FUNCS:
        # a lone name that is not x, y, z, r: a column the user expected in the file
        names = sorted(cols)
        listed = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30
                                          else "")
        have = f"its columns are {listed}" if names else "it has no per-point columns"
        raise ValueError(f"`--field` {spec!r} is not a column of the input ({have}); "
                         "give one of them, x, y, z, a .npy file or an expression")
    return evaluate_expression(spec, points)
