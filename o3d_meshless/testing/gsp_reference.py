"""NumPy reference of the ghost-sample-point (GSP) stencils of Ying et al..

Ying, Chu & Leung, "A Constrained Least-Squares Ghost Sample Points (CLS-GSP) Method
for Differential Operators on Point Clouds". Everything is written for one stencil at a
time, with plain dense linear algebra, so that it can serve as the test oracle of the
compiled kernel and reproduce the paper's §4.1–4.3 (see ``examples/seed003_clsgsp.py``).

Notation (the paper's), for a centre moved to the origin:

* samples ``x_i`` (``offsets``, shape (n, D)), ``r̄`` their mean distance from the centre;
* ghost sample points ``x̂_m``, m = 1..d, given here in units of ``r̄``
  (:func:`ghost_circle` is the paper's choice: equally spaced on the sphere of radius r̄);
* RBFs ``φ(r) = f(c r²)`` with ``c = shape / r̄²``, so ``shape`` is the paper's ``c r̄²``;
* monomials ``p_j`` of degree 1..k (CLS-GSP) or 0..k (LS-GSP, RBF-FD).

CLS-GSP (§2.2) fits ``u_c(x) = u(0) + Σ_m λ_m ψ_m(x) + Σ_j μ_j p_j(x)`` with
``ψ_m(x) = φ(|x − x̂_m|) − φ(|x̂_m|)``, in the least-squares sense at the samples, subject
to ``P̂ᵀ λ = 0``. The system matrix is ``A = [[Ψ, P], [P̂ᵀ, 0]]``, (n + l) × (d + l), and
the weights of a linear operator L are the first n components of
``pinv(Aᵀ) @ [Lψ(0); Lp(0)]``, applied to ``f_i − f_0`` (eq. (2)).

LS-GSP (§2.1) is the same without the constraint: plain ``φ(|x − x̂_m|)``, monomials
including the constant, and the centre counted as one more sample.

RBF-FD (the baseline of §4.3) has the RBFs on the samples themselves:
``[[Φ, P], [Pᵀ, 0]]``, (n + l) × (n + l) with the constant in P.

Two tolerances, as the paper's numbers require:

* ``rtol`` (default 1e-10, absolute) only *counts* the numerical rank, as in Table 1;
* the pseudo-inverse itself uses MATLAB's default cut-off ``max(m, n)·eps·σ_max``
  (``pinv_rcond=None``). Table 1's RBF-FD error still changes between c r̄² = 1e-6 and
  1e-5 while its rank at 1e-10 stays 12, so the paper's pinv cannot have cut at 1e-10.

Only derivatives of order 0, 1 and 2 are implemented (the operators of the paper: the
Laplacian, the gradient, the Hessian entries); higher orders raise ``ValueError``.
"""
from __future__ import annotations

from itertools import combinations_with_replacement
from math import factorial

import numpy as np

__all__ = [
    "RBF_NAMES",
    "rbf",
    "ghost_circle",
    "monomials",
    "laplacian_target",
    "GSPFit",
    "gsp_fit",
    "gsp_derivative_weights",
    "gsp_laplacian_weights",
    "rbf_fd_weights",
    "numerical_rank",
    "misses_polynomials",
]

_ALIASES = {"ga": "gaussian", "mq": "multiquadric", "imq": "inverse-multiquadric",
            "iq": "inverse-quadratic"}
RBF_NAMES = ("gaussian", "multiquadric", "inverse-multiquadric", "inverse-quadratic")


def rbf(name):
    """Profile ``f`` and its derivatives for ``φ(r) = f(c r²)``.

    Parameters
    ----------
    name : str
        ``"gaussian"`` (``"ga"``, f = e^{-s}), ``"multiquadric"`` (``"mq"``, √(1+s)),
        ``"inverse-multiquadric"`` (``"imq"``, (1+s)^{-1/2}) or ``"inverse-quadratic"``
        (``"iq"``, 1/(1+s)); case-insensitive.

    Returns
    -------
    (f, df, d2f) : tuple of callables
        Vectorised functions of ``s = c r² ≥ 0``.
    """
    if not isinstance(name, str):
        raise ValueError(f"`rbf` must be a string, one of {RBF_NAMES}; got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "gaussian":
        return (lambda s: np.exp(-s), lambda s: -np.exp(-s), lambda s: np.exp(-s))
    if key == "multiquadric":
        return (lambda s: np.sqrt(1 + s), lambda s: 0.5 / np.sqrt(1 + s),
                lambda s: -0.25 * (1 + s) ** -1.5)
    if key == "inverse-multiquadric":
        return (lambda s: (1 + s) ** -0.5, lambda s: -0.5 * (1 + s) ** -1.5,
                lambda s: 0.75 * (1 + s) ** -2.5)
    if key == "inverse-quadratic":
        return (lambda s: 1 / (1 + s), lambda s: -1 / (1 + s) ** 2,
                lambda s: 2 / (1 + s) ** 3)
    raise ValueError(f"`rbf` must be one of {RBF_NAMES} or {tuple(_ALIASES)}; got {name!r}")


_rbf_profile = rbf


def ghost_circle(count=8, dim=2):
    """Ghost sample points on the unit sphere (multiply by r̄ to place them).

    Parameters
    ----------
    count : int
        Number of ghost points, ≥ 1.
    dim : int
        1, 2 or 3.

    Returns
    -------
    ndarray, shape (count, dim)
        * 2-D: ``(cos 2πk/count, sin 2πk/count)``, k = 1..count — for count = 8 exactly the
          paper's ``(r̄ cos kπ/4, r̄ sin kπ/4)`` in units of r̄;
        * 3-D: a Fibonacci (golden-spiral) point set on the unit sphere, a cheap, nearly
          uniform stand-in for the Thomson configurations the paper mentions;
        * 1-D: the "sphere" {−1, +1} has only two points, and with degree ≥ 2 the
          constraint P̂ᵀλ = 0 would then force λ = 0. We therefore use the paper's second
          choice, points spread uniformly over the ball: ``linspace(−1, 1, count)``.
    """
    count = _check_int(count, "count", 1)
    dim = _check_int(dim, "dim", 1, 3)
    if dim == 1:
        return np.linspace(-1.0, 1.0, count)[:, None] if count > 1 else np.ones((1, 1))
    if dim == 2:
        t = 2 * np.pi * np.arange(1, count + 1) / count
        return np.c_[np.cos(t), np.sin(t)]
    k = np.arange(count) + 0.5
    z = 1 - 2 * k / count
    t = np.pi * (1 + 5 ** 0.5) * k
    rho = np.sqrt(1 - z * z)
    return np.c_[rho * np.cos(t), rho * np.sin(t), z]


def monomials(degree, dim, constant=True):
    """Exponent tuples of the monomials of total degree ≤ ``degree`` (graded order)."""
    out = [(0,) * dim] if constant else []
    for deg in range(1, degree + 1):
        for combo in combinations_with_replacement(range(dim), deg):
            out.append(tuple(combo.count(a) for a in range(dim)))
    return out


def laplacian_target(dim):
    """The Laplacian as a target: ``{(2,0,..): 1, (0,2,..): 1, ...}``."""
    return {tuple(2 * (a == b) for b in range(dim)): 1.0 for a in range(dim)}


def numerical_rank(s, rtol=1e-10):
    """Number of singular values ``s`` above the absolute tolerance (the paper's rank)."""
    return int(np.count_nonzero(np.asarray(s) > rtol))


# ----------------------------------------------------------------------------------- #
# input checks (each names the argument)

def _check_int(v, name, lo, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer; got {v!r}")
    if v < lo or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"`{name}` must be in {rng}; got {v}")
    return int(v)


def _check_float(v, name, positive=True):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a real number; got {v!r}") from None
    if not np.isfinite(x) or (positive and x <= 0):
        raise ValueError(f"`{name}` must be a finite {'positive ' if positive else ''}"
                         f"number; got {v!r}")
    return x


def _check_array(a, name, dim=None, rows=None):
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"`{name}` must be a real numeric array; got dtype {arr.dtype}")
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] not in ((1, 2, 3) if dim is None else (dim,)):
        want = "(n, 1), (n, 2) or (n, 3)" if dim is None else f"(n, {dim})"
        raise ValueError(f"`{name}` must have shape {want}; got {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"`{name}` must have {rows} rows; got {arr.shape[0]}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must be finite; got NaN or inf")
    return arr


def _check_targets(targets, dim):
    if isinstance(targets, (tuple, dict)) and not (
            isinstance(targets, tuple) and targets and isinstance(targets[0], (tuple, dict))):
        targets = [targets]
    try:
        targets = list(targets)
    except TypeError:
        raise ValueError(f"`targets` must be a list of multi-indices or dicts; "
                         f"got {targets!r}") from None
    if not targets:
        raise ValueError("`targets` must hold at least one operator; got none")
    out = []
    for t in targets:
        op = dict(t) if isinstance(t, dict) else {t: 1.0}
        clean = {}
        for alpha, coef in op.items():
            alpha = tuple(alpha) if isinstance(alpha, (tuple, list)) else None
            if (alpha is None or len(alpha) != dim
                    or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                           or a < 0 for a in alpha)):
                raise ValueError(f"`targets` entries must be multi-indices of length {dim} "
                                 f"(non-negative ints); got {t!r}")
            if sum(alpha) > 2:
                raise ValueError(f"`targets`: derivatives of order > 2 are not implemented; "
                                 f"got {alpha}")
            clean[tuple(int(a) for a in alpha)] = _check_float(coef, "targets", False)
        out.append(clean)
    return out


def _setup(offsets, ghosts, rbf_name, shape, degree, rtol):
    x = _check_array(offsets, "offsets")
    dim = x.shape[1]
    degree = _check_int(degree, "degree", 1, 4)
    shape = _check_float(shape, "shape")
    rtol = _check_float(rtol, "rtol")
    funcs = _rbf_profile(rbf_name)
    if ghosts is None:
        ghosts = ghost_circle(8, dim)
    g = _check_array(ghosts, "ghosts", dim=dim)
    if g.shape[0] < 1:
        raise ValueError("`ghosts` must hold at least one point; got 0")
    rbar = float(np.linalg.norm(x, axis=1).mean())
    if not rbar > 0:
        raise ValueError("`offsets` must not all coincide with the centre (mean distance 0)")
    return x, dim, g * rbar, funcs, shape / rbar ** 2, rbar, degree, rtol


def _vander(x, mons):
    """Monomials at points: (n, len(mons))."""
    return np.stack([np.prod(x ** np.array(m, dtype=float), axis=1) for m in mons], axis=1)


def _poly_op(op, mons):
    """L p_j at 0 for L = Σ coef ∂^α: only p_j = x^α survives, with value α!."""
    return np.array([op.get(m, 0.0) * np.prod([factorial(a) for a in m]) for m in mons])


def _rbf_op(op, centres, c, funcs):
    """L φ(|x − x̂_m|) at x = 0 for each centre; φ = f(c|y|²), y = x − x̂_m = −x̂_m."""
    f, df, d2f = funcs
    y = -centres
    s = c * (y * y).sum(axis=1)
    out = np.zeros(len(centres))
    for alpha, coef in op.items():
        idx = [a for a, k in enumerate(alpha) for _ in range(k)]
        if len(idx) == 0:
            val = f(s)
        elif len(idx) == 1:  # ∂_a φ = 2c f'(s) y_a
            val = 2 * c * df(s) * y[:, idx[0]]
        else:  # ∂_a∂_b φ = 4c² f''(s) y_a y_b + 2c f'(s) δ_ab
            a, b = idx
            val = 4 * c * c * d2f(s) * y[:, a] * y[:, b] + 2 * c * df(s) * (a == b)
        out += coef * val
    return out


def _phi(x, centres, c, f):
    d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return f(c * d2)


def _pinv(a, rcond):
    u, s, vt = np.linalg.svd(a, full_matrices=False)
    cut = (max(a.shape) * np.finfo(float).eps if rcond is None else rcond) * (s[0] if len(s) else 0)
    inv = np.where(s > cut, 1 / np.where(s > 0, s, 1), 0.0)
    return (vt.T * inv) @ u.T, s


def _system(x, g, c, funcs, degree, constrained):
    """Sample-side basis matrix, the system matrix A and the monomial list."""
    dim = x.shape[1]
    if constrained:
        mons = monomials(degree, dim, constant=False)
        basis = _phi(x, g, c, funcs[0]) - funcs[0](c * (g * g).sum(axis=1))[None, :]
    else:
        mons = monomials(degree, dim, constant=True)
        x = np.vstack([np.zeros((1, dim)), x])  # LS-GSP: the centre is a sample too
        basis = _phi(x, g, c, funcs[0])
    P = _vander(x, mons)
    Ph = _vander(g, mons)
    l = len(mons)
    A = np.block([[basis, P], [Ph.T, np.zeros((l, l))]])
    return A, mons, x


def _min_samples(degree, dim, constrained):
    return len(monomials(degree, dim, constant=not constrained)) - (0 if constrained else 1)


# ----------------------------------------------------------------------------------- #

class GSPFit:
    """A local GSP reconstruction ``u_c``; call it on points of shape (m, D).

    Attributes
    ----------
    lam, mu : ndarray
        RBF (ghost) and polynomial coefficients (in the solve's length ``unit``).
    ghosts : ndarray
        Ghost points in the solve's coordinates (``offsets / unit``).
    c, rbar, unit : float
        Shape parameter (solve's coordinates), mean sample distance (coordinates of
        ``offsets``) and the length unit of the solve (1, or r̄ with ``scaled=True``).
    monomials : list of tuple
    rank : int
        Numerical rank of the system matrix (absolute ``rtol``).
    matrix : ndarray
        The system matrix ``[[Ψ, P], [P̂ᵀ, 0]]``.
    """

    def __init__(self, lam, mu, ghosts, c, rbar, mons, funcs, centre_value, constrained,
                 rank, matrix, unit=1.0):
        self.lam, self.mu, self.ghosts, self.c, self.rbar = lam, mu, ghosts, c, rbar
        self.unit = unit
        self.monomials, self._f = mons, funcs[0]
        self.centre_value, self.constrained = centre_value, constrained
        self.rank, self.matrix = rank, matrix

    def __call__(self, points):
        x = np.asarray(points, dtype=float)
        if x.ndim == 1 and self.ghosts.shape[1] == 1:
            x = x[:, None]
        x = _check_array(x, "points", dim=self.ghosts.shape[1]) / self.unit
        phi = _phi(x, self.ghosts, self.c, self._f)
        if self.constrained:
            phi = phi - self._f(self.c * (self.ghosts ** 2).sum(axis=1))[None, :]
        out = phi @ self.lam + _vander(x, self.monomials) @ self.mu
        return out + self.centre_value if self.constrained else out


def gsp_fit(offsets, values, centre_value, *, ghosts=None, rbf="gaussian", shape=1.0,
            degree=2, constrained=True, rtol=1e-10, pinv_rcond=None, scaled=False):
    """Least-squares GSP reconstruction of sampled values around a centre at the origin.

    Parameters
    ----------
    offsets : array_like, shape (n, D)
        Sample positions relative to the centre (D = 1, 2, 3; (n,) accepted for D = 1).
    values : array_like, shape (n,)
        Function values ``f_i`` at the samples.
    centre_value : float
        ``f_0``, the value at the centre. CLS-GSP passes through it exactly; LS-GSP uses
        it as one more least-squares sample.
    ghosts : array_like, shape (d, D), optional
        Ghost points in units of r̄ (default ``ghost_circle(8, D)``).
    rbf : str
        Kernel name, see :func:`rbf`.
    shape : float
        ``c r̄²`` (the shape parameter is ``c = shape / r̄²``).
    degree : int
        Polynomial degree k, 1..4.
    constrained : bool
        True for CLS-GSP, False for LS-GSP.
    rtol : float
        Absolute singular-value tolerance of the reported rank.
    pinv_rcond : float, optional
        Relative cut-off of the pseudo-inverse; default ``max(m, n)·eps`` (MATLAB's).
    scaled : bool
        Solve in units of r̄ (see :func:`gsp_derivative_weights`); the returned callable
        still takes points in the coordinates of ``offsets``.

    Returns
    -------
    GSPFit
        Callable reconstruction with coefficients, rank and system matrix.
    """
    x, dim, g, funcs, c, rbar, degree, rtol = _setup(offsets, ghosts, rbf, shape, degree, rtol)
    n = x.shape[0]
    v = np.asarray(values, dtype=float).reshape(-1) if np.ndim(values) else None
    if v is None or v.shape[0] != n:
        raise ValueError(f"`values` must have shape ({n},); got {np.shape(values)}")
    if not np.isfinite(v).all():
        raise ValueError("`values` must be finite; got NaN or inf")
    f0 = _check_float(centre_value, "centre_value", positive=False)
    if n < _min_samples(degree, dim, constrained):
        raise ValueError(f"`offsets` must hold at least {_min_samples(degree, dim, constrained)}"
                         f" samples for degree {degree} in {dim}-D; got {n}")
    unit = rbar if scaled else 1.0
    x, g, c = x / unit, g / unit, c * unit ** 2
    A, mons, _ = _system(x, g, c, funcs, degree, constrained)
    l, d = len(mons), g.shape[0]
    rhs = np.concatenate([v - f0 if constrained else np.r_[f0, v], np.zeros(l)])
    pinv, s = _pinv(A, pinv_rcond)
    coef = pinv @ rhs
    return GSPFit(coef[:d], coef[d:], g, c, rbar, mons, funcs, f0, constrained,
                  numerical_rank(s, rtol), A, unit)


def gsp_derivative_weights(offsets, targets, *, ghosts=None, rbf="gaussian", shape=1.0,
                           degree=2, constrained=True, rtol=1e-10, pinv_rcond=None,
                           scaled=False):
    """GSP weights of linear differential operators at the centre (the origin).

    Parameters
    ----------
    offsets : array_like, shape (n, D)
        Neighbour positions relative to the centre.
    targets : list
        Operators: multi-indices such as ``(2, 0)`` (∂²/∂x²) or dicts
        ``{(2, 0): 1, (0, 2): 1}`` (the Laplacian), orders 0..2.
    ghosts, rbf, shape, degree, constrained, rtol, pinv_rcond
        As in :func:`gsp_fit`.
    scaled : bool
        False (default, the paper's eq. (2)): the system is built in the coordinates of
        ``offsets``. The weights are the *minimum-norm* solution of an underdetermined
        system whose polynomial columns scale like r̄^|j|, so they are not scale
        covariant: shrinking ``offsets`` by h does not simply multiply them by h^-2.
        True: build the system in units of r̄ (c = shape, samples x / r̄) and map the
        weights back (× r̄^-|α|); the stencil then is exactly scale covariant and much
        better conditioned for small r̄. ``matrix``/``rank`` are then those of the
        scaled system.

    Returns
    -------
    weights : ndarray, shape (n, len(targets))
        ``L u(0) ≈ Σ_i w_i (f_i − f_0)`` for CLS-GSP and LS-GSP alike.
    info : dict
        ``rank`` (singular values of the system matrix > ``rtol``), ``full_rank`` (d + l
        for CLS-GSP, d + l + 1 for LS-GSP), ``matrix``, ``singular_values``, ``rbar``,
        ``c``, ``ghosts`` (absolute), ``monomials``; for LS-GSP also ``centre_weight``
        (the raw weight w_0 of f_0, shape (len(targets),)) and ``weight_sum``
        (w_0 + Σ w_i; zero for a derivative when the constant is reproduced, in which case
        ``Σ w_i f_i + w_0 f_0 = Σ w_i (f_i − f_0)``).
    """
    x, dim, g, funcs, c, rbar, degree, rtol = _setup(offsets, ghosts, rbf, shape, degree, rtol)
    ops = _check_targets(targets, dim)
    if scaled:  # y = x / r̄: ∂^α_x = r̄^-|α| ∂^α_y, and c r̄² = shape
        x, g, c = x / rbar, g / rbar, shape_value(c, rbar)
        ops = [{a: coef * rbar ** -sum(a) for a, coef in op.items()} for op in ops]
    n = x.shape[0]
    if n < _min_samples(degree, dim, constrained):
        raise ValueError(f"`offsets` must hold at least {_min_samples(degree, dim, constrained)}"
                         f" samples for degree {degree} in {dim}-D; got {n}")
    A, mons, _ = _system(x, g, c, funcs, degree, constrained)
    # RHS: L applied to the basis at 0. The subtracted constant φ(|x̂_m|) of ψ_m has no
    # derivative, but it does matter for an order-0 target.
    rhs = []
    for op in ops:
        lrbf = _rbf_op(op, g, c, funcs)
        if constrained and (0,) * dim in op:
            lrbf = lrbf - op[(0,) * dim] * funcs[0](c * (g * g).sum(axis=1))
        rhs.append(np.concatenate([lrbf, _poly_op(op, mons)]))
    pinv_t, s = _pinv(A.T, pinv_rcond)  # weights solve the transposed (dual) system
    W = pinv_t @ np.stack(rhs, axis=1)
    info = {"rank": numerical_rank(s, rtol), "full_rank": min(A.shape), "matrix": A,
            "singular_values": s, "rbar": rbar, "c": c, "ghosts": g, "monomials": mons}
    if constrained:
        return W[:n], info
    info["centre_weight"] = W[0]
    info["weight_sum"] = W[:n + 1].sum(axis=0)
    return W[1:n + 1], info


def shape_value(c, rbar):
    """``c r̄²`` — the dimensionless shape the paper sweeps (``shape`` of this module)."""
    return c * rbar ** 2


def gsp_laplacian_weights(offsets, **kwargs):
    """Laplacian weights (shape (n,)) and info; see :func:`gsp_derivative_weights`."""
    x = _check_array(offsets, "offsets")
    w, info = gsp_derivative_weights(x, [laplacian_target(x.shape[1])], **kwargs)
    if "centre_weight" in info:
        info["centre_weight"] = float(info["centre_weight"][0])
        info["weight_sum"] = float(info["weight_sum"][0])
    return w[:, 0], info


def rbf_fd_weights(offsets, targets=None, *, rbf="gaussian", shape=1.0, degree=2,
                   include_centre=False, rtol=1e-10, pinv_rcond=None):
    """Standard RBF-FD weights (the §4.3 baseline): RBFs centred on the samples.

    Parameters
    ----------
    offsets : array_like, shape (n, D)
        Samples relative to the evaluation point (the origin).
    targets : list, optional
        As in :func:`gsp_derivative_weights`; default the Laplacian.
    rbf, shape, degree, rtol, pinv_rcond
        As in :func:`gsp_fit` (``shape = c r̄²``, r̄ the mean sample distance).
    include_centre : bool
        Add the origin as a node (weight returned as ``info['centre_weight']``). The
        paper's Table 1 (full rank 26 = 20 samples + 6 monomials) does not.

    Returns
    -------
    weights : ndarray, shape (n, len(targets))
        ``L u(0) ≈ Σ_i w_i f_i`` (plus ``centre_weight · f_0`` with ``include_centre``).
    info : dict
        ``rank``, ``full_rank`` (n + l), ``matrix`` ``[[Φ, P], [Pᵀ, 0]]``,
        ``singular_values``, ``rbar``, ``c``.
    """
    x = _check_array(offsets, "offsets")
    dim = x.shape[1]
    degree = _check_int(degree, "degree", 1, 4)
    shape = _check_float(shape, "shape")
    rtol = _check_float(rtol, "rtol")
    funcs = _rbf_profile(rbf)  # the argument `rbf` shadows the function
    ops = _check_targets([laplacian_target(dim)] if targets is None else targets, dim)
    rbar = float(np.linalg.norm(x, axis=1).mean())
    if not rbar > 0:
        raise ValueError("`offsets` must not all coincide with the centre (mean distance 0)")
    c = shape / rbar ** 2
    mons = monomials(degree, dim, constant=True)
    nodes = np.vstack([np.zeros((1, dim)), x]) if include_centre else x
    if len(nodes) < len(mons):
        raise ValueError(f"`offsets` must hold at least {len(mons) - include_centre} samples "
                         f"for degree {degree} in {dim}-D; got {len(x)}")
    P = _vander(nodes, mons)
    l = len(mons)
    A = np.block([[_phi(nodes, nodes, c, funcs[0]), P], [P.T, np.zeros((l, l))]])
    rhs = np.stack([np.concatenate([_rbf_op(op, nodes, c, funcs), _poly_op(op, mons)])
                    for op in ops], axis=1)
    pinv, s = _pinv(A, pinv_rcond)  # A is symmetric: pinv(Aᵀ) = pinv(A)
    W = (pinv @ rhs)[:len(nodes)]
    info = {"rank": numerical_rank(s, rtol), "full_rank": A.shape[0], "matrix": A,
            "singular_values": s, "rbar": rbar, "c": c}
    if include_centre:
        info["centre_weight"] = W[0]
        W = W[1:]
    return W, info


#: relative miss of the polynomial reproduction that makes a GSP row a failure (as the
#: kernel's)
REPRODUCTION_RTOL = 1e-6


def misses_polynomials(points, neighbors, centers, bases, weights, targets, order, dim):
    """The kernel's reproduction test, in NumPy: rows whose weights do not reproduce the derivatives of the monomials of degree
    1..``order`` (they should, exactly, by construction), in coordinates scaled by each
    row's mean neighbour distance."""
    from ..sampling.monomials import monomials as _taylor_monomials
    from ..stencils.positive import local_coordinates

    x = local_coordinates(points, centers, neighbors, bases)
    rbar = np.linalg.norm(x, axis=2).mean(axis=1)
    rbar = np.where(rbar > 0, rbar, 1.0)
    x = x / rbar[:, None, None]
    bad = ~np.isfinite(weights).all(axis=(1, 2))
    for t, target in enumerate(targets):
        items = target.items() if isinstance(target, dict) else [(tuple(target), 1.0)]
        degree = max(sum(a) for a, _ in items)
        w = weights[:, :, t] * rbar[:, None] ** degree
        for beta in _taylor_monomials(order, dim):
            xb = np.prod(x ** np.asarray(beta), axis=2)                  # (m, k)
            exact = sum(c * np.prod([factorial(b) for b in beta])
                        for a, c in items if tuple(a) == tuple(beta))
            got = np.einsum("mk,mk->m", w, xb)
            scale = np.einsum("mk,mk->m", np.abs(w), np.abs(xb)) + abs(exact)
            bad |= np.abs(got - exact) > REPRODUCTION_RTOL * np.maximum(scale, 1.0)
    return bad
