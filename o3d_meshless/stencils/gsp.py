"""Ghost-sample-point stencils (Ying et al.: Ying, Chu & Leung, "A Constrained Least-Squares
Ghost Sample Points (CLS-GSP) Method for Differential Operators on Point Clouds").

Each neighbourhood is reconstructed by radial basis functions centred on a few *ghost*
points — a fixed layout around the centre, independent of where the samples are — plus
polynomials, fitted to the samples by least squares:

``"clsgsp"`` (constrained, the paper's method)
    ``u(x) = u(x₀) + Σ_m λ_m [φ(|x − x̂_m|) − φ(|x̂_m|)] + Σ_j μ_j P_j(x)`` with
    polynomials of degree 1..``order`` (no constant): the reconstruction passes through
    the centre value exactly, which makes the Laplacian rows diagonally dominant and keeps
    the spectrum of a Laplace–Beltrami matrix in the right half plane.
``"lsgsp"``
    ``u(x) = Σ_m λ_m φ(|x − x̂_m|) + Σ_j μ_j P_j(x)`` with the constant included, the centre
    an ordinary least-squares sample; for pointwise derivatives (its operator matrices
    are not guaranteed stable).

Both add the RBF-FD side condition ``P̂ᵀλ = 0`` (``P̂`` = polynomials at the ghosts) and solve
the ``(n + l) × (G + l)`` system by its pseudo-inverse, dropping singular values below
:data:`RCOND` × σ_max (the paper's rank tolerance 1e-10, taken relative to σ_max so that it
does not depend on units). A derivative ``D`` at the centre has the weights ``w`` = the
first ``n`` entries of ``(Aᵀ)⁺ [Dψ(0); DP(0)]``, applied as ``Σ_j w_j (f_j − f₀)``. Derivatives
of order 1 and 2 are available (gradient, Hessian entries, Laplacian).

Options
-------
``rbf``
    ``"gaussian"`` ``exp(−c r²)`` (default), ``"multiquadric"`` ``sqrt(1 + c r²)``,
    ``"inverse-multiquadric"`` ``1/sqrt(1 + c r²)``, ``"inverse-quadratic"``
    ``1/(1 + c r²)`` (aliases ``"ga"``, ``"mq"``, ``"imq"``, ``"iq"``).
``shape``
    The scale-free shape parameter ``c·r̄²``, ``r̄`` = mean distance of the stencil's
    neighbours from its centre (the paper's consistency theorem keeps ``c h²`` fixed);
    default :data:`DEFAULT_SHAPE` (3.0), or :data:`DISC_SHAPE` (0.1) with ``ghosts="disc"``.
``ghosts``
    ``"circle"`` (default): 8 ghosts evenly on the circle of radius ``r̄`` (2-D, the paper's
    default); in 3-D (volumetric data) :data:`SPHERE_GHOSTS` points spread on the sphere of
    radius ``r̄`` by Thomson (Coulomb) repulsion, cached per count. ``"disc"`` (2-D): 49
    ghosts spread uniformly (sunflower spiral) in the disc of radius half the largest
    neighbour distance (the paper's Poisson example). An int ``G``: ``G`` ghosts on the
    circle/sphere of radius ``r̄``. An array of shape (G, d): ghost positions in units of
    ``r̄``.
``order``
    Polynomial degree ``n`` (1–4; the paper uses 2–4). The paper proves the Laplacian
    consistent of order ``n − 1``. The side condition ``P̂ᵀλ = 0`` has ``l`` rows: once
    ``l ≥ G`` (order 4 with 8 ghosts) it forces ``λ = 0`` and the fit is the plain
    centre-constrained polynomial least squares.

Diagnostics per stencil (:data:`DIAGNOSTICS` order): ``rcond`` = σ_min/σ_max of the
polynomial block ``P`` on the samples (the row guard's rank test: are the neighbours
unisolvent for the polynomials?), ``rcond_system`` = σ_min/σ_max of the whole system
(0 when it has more columns than rows; where the kernel solves through the triangular
``R`` with ``RᵀR = AᵀA`` instead of the SVD, i.e. for the well-conditioned systems:
``1 / (‖R‖_F ‖R⁻¹‖_F)``, at most ``G + l`` times smaller. ``R`` comes from the Cholesky
factor of ``AᵀA`` below condition 1e3 and from a Householder QR of ``A`` below 1e6),
``unused`` = NaN, ``rank`` = numerical
rank of the system (full rank ``G + l``). A row whose weights do not reproduce the
monomials (checked in the kernel) gets ``rcond`` 0: a rank failure for the guard.
"""
from __future__ import annotations

from functools import lru_cache, partial
from math import factorial

import numpy as np

from .._kernels.gsp import gsp_stencils
from .._validation import check_int, check_points, check_stencil_arrays, raise_if_out_of_memory
from ..sampling.monomials import monomials as _taylor_monomials
from .result import StencilWeights, one_stencil
from .spec import MethodSpec

__all__ = ["CLSGSP", "LSGSP", "single_stencil", "gsp_weights", "clsgsp_weights", "lsgsp_weights", "monomials", "n_unknowns",
           "ghost_layout", "thomson_sphere", "sunflower_disc", "RBFS", "RCOND", "DIAGNOSTICS",
           "DEFAULT_RBF", "DEFAULT_SHAPE", "DISC_SHAPE", "CIRCLE_GHOSTS", "SPHERE_GHOSTS", "DISC_GHOSTS",
           "check_gsp_options", "check_samples"]

#: relative singular-value cut-off of the pseudo-inverse (the paper's tolerance 1e-10)
RCOND = 1e-10
#: names of the kernel's four diagnostic columns (module docstring)
DIAGNOSTICS = ("rcond", "rcond_system", "unused", "rank")

#: kernel names -> compiled kernel code
RBFS = {"gaussian": 0, "multiquadric": 1, "inverse-multiquadric": 2, "inverse-quadratic": 3}
_ALIASES = {"ga": "gaussian", "mq": "multiquadric", "imq": "inverse-multiquadric",
            "iq": "inverse-quadratic"}

DEFAULT_RBF = "gaussian"
#: default c·r̄² for the "circle" layout, an int or an array (best of {1, 3, 10, 30} on the
#: GBPM sphere; keeps the holed bunny's spectrum non-negative, where 1 does not)
DEFAULT_SHAPE = 3.0
#: default c·r̄² for the "disc" layout (best on the paper's §4.4 Poisson problems; 3 is unstable
#: there)
DISC_SHAPE = 0.1
CIRCLE_GHOSTS = 8
SPHERE_GHOSTS = 20
DISC_GHOSTS = 49
LAYOUTS = ("circle", "disc")
#: highest polynomial degree
MAX_ORDER = 4


def monomials(order: int, dim: int):
    """Derivative keys returned by the GSP methods: degree 1..min(order, 2), graded."""
    return _taylor_monomials(min(order, 2), dim)


def n_unknowns(order: int, dim: int) -> int:
    """Least number of neighbours: the number of polynomial terms of degree 1..order."""
    return len(_taylor_monomials(order, dim))


@lru_cache(maxsize=None)
def thomson_sphere(count: int) -> np.ndarray:
    """``count`` points on the unit sphere spread by Coulomb repulsion (Thomson problem).

    Starts from a golden-angle spiral and takes projected gradient steps on the energy
    ``Σ 1/|x_i − x_j|``; deterministic and cached per ``count``. Read-only result.
    """
    if count < 2:
        raise ValueError(f"`ghosts` on a sphere must be at least 2; got {count}")
    i = np.arange(count) + 0.5
    z = 1 - 2 * i / count
    t = np.pi * (1 + 5 ** 0.5) * i
    x = np.c_[np.cos(t) * np.sqrt(1 - z * z), np.sin(t) * np.sqrt(1 - z * z), z]
    step = 0.1 / count
    energy = np.inf
    for _ in range(2000):
        diff = x[:, None, :] - x[None, :, :]
        r = np.linalg.norm(diff, axis=2)
        np.fill_diagonal(r, np.inf)
        e = float((1 / r).sum()) / 2
        if e > energy:          # overshoot: smaller steps
            step *= 0.5
        energy = e
        force = (diff / r[:, :, None] ** 3).sum(axis=1)
        force -= (force * x).sum(axis=1, keepdims=True) * x        # tangential part
        if np.abs(force).max() * step < 1e-12:
            break
        x = x + step * force
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    x.setflags(write=False)
    return x


@lru_cache(maxsize=None)
def sunflower_disc(count: int) -> np.ndarray:
    """``count`` points spread uniformly in the unit disc (Vogel's sunflower spiral)."""
    i = np.arange(count) + 0.5
    r = np.sqrt(i / count)
    t = np.pi * (3 - 5 ** 0.5) * i
    x = np.c_[r * np.cos(t), r * np.sin(t)]
    x.setflags(write=False)
    return x


def _circle(count):
    t = 2 * np.pi * np.arange(1, count + 1) / count       # the paper's (r cos kπ/4, r sin kπ/4)
    return np.c_[np.cos(t), np.sin(t)]


def ghost_layout(ghosts, dim):
    """``(template (G, dim), half_max)`` for a ``ghosts`` option (see the module docstring).

    ``half_max`` is True when the template is in units of half the largest neighbour
    distance (``"disc"``), else in units of the mean distance ``r̄``.
    """
    if isinstance(ghosts, str):
        if ghosts not in LAYOUTS:
            raise ValueError(f"`ghosts` must be one of {LAYOUTS}, an int or an array of shape "
                             f"(G, {dim}); got {ghosts!r}")
        if ghosts == "disc":
            if dim != 2:
                raise ValueError("`ghosts='disc'` is a 2-D layout; in 3-D use 'circle' (ghosts "
                                 "on a sphere) or an array of shape (G, 3)")
            return np.array(sunflower_disc(DISC_GHOSTS)), True
        return ghost_layout(CIRCLE_GHOSTS if dim == 2 else SPHERE_GHOSTS, dim)
    if isinstance(ghosts, (int, np.integer)) and not isinstance(ghosts, bool):
        if not 2 <= ghosts <= 1000:
            raise ValueError(f"`ghosts` count must be in 2..1000; got {ghosts}")
        return (_circle(int(ghosts)) if dim == 2 else np.array(thomson_sphere(int(ghosts)))), False
    try:
        arr = np.asarray(ghosts, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != dim or not 1 <= len(arr) <= 1000 \
            or not np.isfinite(arr).all():
        raise ValueError(f"`ghosts` must be 'circle', 'disc', an int or a finite array of shape "
                         f"(G, {dim}) with 1 <= G <= 1000 (positions in units of the mean "
                         f"neighbour distance); got {ghosts!r}")
    return np.ascontiguousarray(arr), False


def check_samples(k, n_ghosts, constrained, owner=None):
    """Raise ``ValueError`` naming ``k`` unless the fit has at least as many samples as
    ghosts: with fewer, the "least-squares" system is underdetermined and its minimum-norm
    solution no longer reproduces the polynomials (the paper pairs 49 ghosts with k = 60)."""
    n = k if constrained else k + 1
    if n < n_ghosts:
        where = f" of {owner}" if owner else ""
        raise ValueError(f"`k`{where} must give at least as many samples as ghosts "
                         f"({n_ghosts}) for a least-squares fit; got k = {k}: raise `k` to "
                         f">= {n_ghosts if constrained else n_ghosts - 1} or use fewer ghosts")


def check_gsp_options(rbf=None, shape=None, ghosts=None, *, owner=None):
    """Validated ``(rbf, shape, ghosts)`` with defaults filled in; errors name the option."""
    where = f" of {owner}" if owner else ""
    rbf = DEFAULT_RBF if rbf is None else rbf
    if not isinstance(rbf, str) or _ALIASES.get(rbf.lower(), rbf.lower()) not in RBFS:
        raise ValueError(f"`rbf`{where} must be one of {tuple(RBFS)} (or "
                         f"{tuple(_ALIASES)}); got {rbf!r}")
    rbf = _ALIASES.get(rbf.lower(), rbf.lower())
    ghosts = "circle" if ghosts is None else ghosts
    if shape is None:
        shape = DISC_SHAPE if isinstance(ghosts, str) and ghosts == "disc" else DEFAULT_SHAPE
    if isinstance(shape, bool) or not isinstance(shape, (int, float, np.integer, np.floating)) \
            or not (np.isfinite(shape) and shape > 0):
        raise ValueError(f"`shape`{where} (c·r̄², scale-free) must be a positive finite number; "
                         f"got {shape!r}")
    return rbf, float(shape), ghosts


@lru_cache(maxsize=None)
def _poly_exponents(order, dim, constant):
    ms = ((tuple([0] * dim),) if constant else ()) + _taylor_monomials(order, dim)
    return np.ascontiguousarray(ms, dtype=np.intp).reshape(len(ms), dim)


@lru_cache(maxsize=None)
def _derivative_tables(dim):
    ms = _taylor_monomials(2, dim)
    expo = np.ascontiguousarray(ms, dtype=np.intp).reshape(len(ms), dim)
    fact = np.array([float(np.prod([factorial(a) for a in m])) for m in ms])
    deg = np.ascontiguousarray(expo.sum(axis=1), dtype=np.intp)
    return ms, expo, fact, deg


def _combos(targets, dim, order):
    ms = _derivative_tables(dim)[0]
    index = {m: i for i, m in enumerate(ms)}
    rows = np.zeros((len(targets), len(ms)))
    for r, t in enumerate(targets):
        items = t.items() if isinstance(t, dict) else [(tuple(t), 1.0)]
        for m, coef in items:
            m = tuple(int(a) for a in m)
            if m not in index or sum(m) > order:
                raise ValueError(f"derivative {m} is not available from the GSP methods at "
                                 f"order {order} in {dim}-D: they give derivatives of order 1 "
                                 "and 2 (up to `order`); use method='taylor' for higher ones")
            rows[r, index[m]] += coef
    return np.ascontiguousarray(rows)


def gsp_weights(points, neighbors, centers, bases, *, order, targets, weight_power=-1.0,
                bounds=False, n_threads=1, constrained=True, rbf=None, shape=None,
                ghosts=None, details=False):
    """Run the compiled GSP kernel on already validated arrays.

    Same signature and return values as :func:`o3d_meshless.stencils.taylor.taylor_weights`
    plus the paper-003 options ``rbf``, ``shape``, ``ghosts`` (module docstring) and
    ``constrained`` (CLS-GSP, else LS-GSP). ``weight_power`` must be -1 (the paper's fit is
    unweighted; ``weights=None``); ``bounds`` is accepted and ignored (Turner et al.'s bounds
    belong to the Taylor fit). With ``details=True`` a fourth value is returned: the
    centre weights, shape (m, len(targets)) (``−Σ_j w_j`` for CLS-GSP; the centre's own
    least-squares weight for LS-GSP).
    """
    if weight_power != -1.0:
        raise ValueError("the ghost-sample-point methods are unweighted (as published); pass weights=None")
    if not 1 <= int(order) <= 4:
        raise ValueError(f"`order` (polynomial degree) of the GSP methods must be in 1..4; "
                         f"got {order}")
    rbf, shape, ghosts = check_gsp_options(rbf, shape, ghosts)
    dim = points.shape[1] if bases is None else bases.shape[1]
    check_stencil_arrays(points, neighbors, centers, bases, dim, n_threads)
    template, half_max = ghost_layout(ghosts, dim)
    m, k = neighbors.shape
    check_samples(k, len(template), constrained)
    pexpo = _poly_exponents(int(order), dim, not constrained)
    _, dexpo, dfact, ddeg = _derivative_tables(dim)
    combos = _combos(targets, dim, int(order))
    if bases is None:
        bases = np.zeros((0, dim, points.shape[1]))
    weights = np.empty((m, k, len(targets)))
    centre = np.empty((m, len(targets)))
    diagnostics = np.empty((m, 4))
    status = np.zeros(m, dtype=np.intc)
    if m:
        gsp_stencils(points, neighbors, centers, bases, template, bool(half_max), RBFS[rbf],
                     shape, pexpo, dexpo, dfact, ddeg, combos, bool(constrained), RCOND,
                     weights, centre, diagnostics, status, int(n_threads))
        raise_if_out_of_memory(status, "ghost-point")
        # (the kernel also tests each row's reproduction of the monomials: a rank-deficient
        # RBF block can leave the side condition unmet while the polynomial block looks
        # healthy; such a row is reported as a rank failure, rcond 0, for the guard)
    if details:
        return weights, diagnostics, status, centre
    return weights, diagnostics, status


def clsgsp_weights(points, neighbors, centers, bases, **options):
    """:func:`gsp_weights` with ``constrained=True`` (the registry's ``"clsgsp"``)."""
    return gsp_weights(points, neighbors, centers, bases, constrained=True, **options)


def lsgsp_weights(points, neighbors, centers, bases, **options):
    """:func:`gsp_weights` with ``constrained=False`` (the registry's ``"lsgsp"``)."""
    return gsp_weights(points, neighbors, centers, bases, constrained=False, **options)


def single_stencil(offsets, *, order, weights=None, constrained=True, **opts):
    """One stencil for :func:`o3d_meshless.stencil_weights` (``"clsgsp"``/``"lsgsp"``), with
    ``.centre_weight`` and ``.options``."""
    method = "clsgsp" if constrained else "lsgsp"
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=MAX_ORDER)
    if weights is not None:
        raise ValueError(f"`weights` must be None for method {method!r} (the published fit is "
                         f"unweighted); got {weights!r}")
    k, d = off.shape
    p = n_unknowns(order, d)
    if k < p:
        raise ValueError(f"`offsets` must have at least {p} rows for polynomial degree {order} "
                         f"in {d}-D (one per polynomial term); got {k}: add neighbours or lower "
                         "`order`")
    n_ghosts = len(ghost_layout(opts["ghosts"], d)[0])   # layout errors first
    if k + (not constrained) < n_ghosts:
        raise ValueError(f"`offsets` must hold at least as many samples as ghosts ({n_ghosts}) "
                         f"for a least-squares fit; got {k}: add neighbours or use fewer ghosts")
    dist, points, nbrs = one_stencil(off)
    ms = monomials(order, d)
    w, diag, status, centre = gsp_weights(
        points, nbrs, np.zeros(1, dtype=np.intp), None, order=order, targets=list(ms),
        constrained=constrained, details=True, **opts)
    if status[0] != 0:
        raise RuntimeError(f"LAPACK failed on this stencil (info={int(status[0])})")
    diagnostics = {name: value for name, value in zip(DIAGNOSTICS, diag[0].tolist())
                   if name != "unused"}
    diagnostics["rank"] = int(diagnostics["rank"])
    diagnostics["h_max"] = float(dist.max())
    sw = StencilWeights(w[0], ms, diagnostics, order=order, method=method)
    sw.centre_weight = dict(zip(ms, centre[0].tolist()))
    sw.options = dict(opts)
    return sw


def _check_options(given, *, owner=None):
    rbf, shape, ghosts = check_gsp_options(given.get("rbf"), given.get("shape"),
                                           given.get("ghosts"), owner=owner)
    return {"rbf": rbf, "shape": shape, "ghosts": ghosts}


def _samples_rule(constrained):
    def check(k, dim, options, owner=None):
        check_samples(k, len(ghost_layout(options["ghosts"], dim)[0]), constrained, owner)
    return check


def _default_k(order, dim, options):
    # at least the paper's 20 samples, and more samples than ghosts plus polynomials so
    # the fit stays overdetermined (in 3-D, k = 20 = the 20 ghosts gave gradient errors
    # up to 88 on a cubic where k = 30 gives 0.03)
    p = n_unknowns(order, dim)
    return max(2 * p, 20, len(ghost_layout(options["ghosts"], dim)[0]) + p)


def _spec(name, title, constrained, kernel):
    return MethodSpec(
        name=name, title=title, kernel=kernel, n_unknowns=n_unknowns, monomials=monomials,
        max_order=MAX_ORDER, options=("rbf", "shape", "ghosts"), check_options=_check_options,
        weighted=False, polynomial_rank=False,
        diagnostics=DIAGNOSTICS,
        check_k=_samples_rule(constrained), default_k=_default_k,
        stencil=partial(single_stencil, constrained=constrained))


#: the registry's ``"clsgsp"`` and ``"lsgsp"``: RBFs on ghost points plus polynomials,
#: fitted through the centre value or not; the rank diagnostic is the whole system's
CLSGSP = _spec("clsgsp", "ghost-sample-point RBFs constrained through the centre (CLS-GSP, "
                         "Ying et al.)", True, clsgsp_weights)
LSGSP = _spec("lsgsp", "ghost-sample-point RBFs, plain least squares (LS-GSP, Ying et al.)",
              False, lsgsp_weights)
