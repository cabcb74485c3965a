"""Dirichlet problems ``Δu = f`` on scattered points (Ying et al. §4.4).

The domain Ω is sampled by ``N`` interior points; a layer of ``Nb`` *boundary nodes*
just **outside** Ω (e.g. the annulus ``2 < r ≤ 2.5`` around the disc ``r ≤ 2``) carries
the Dirichlet data ``g``, so no interior stencil is one-sided. The Laplacian is built on
all ``N + Nb`` points (:class:`o3d_meshless.ScatteredDerivatives`, by default Ying et al.'s
CLS-GSP stencils with 60 neighbours and 49 ghost points in a disc); its interior rows
``Δ_h = (A | A1)`` give the linear system of the paper,

    A u = f − A1 g,

solved with a sparse LU factorisation (:func:`scipy.sparse.linalg.splu`). ``g`` must be
known at the outer nodes themselves: the paper assumes ``g`` defined analytically outside
Ω; data given on ∂Ω only must first be extended (e.g. constant along normals).

Sign: the package's ``L_`` approximates **−Δ**; here ``A`` and ``A1`` are blocks of
``Δ_h = −L_``, so ``A`` is (for good stencils) close to a negative definite M-matrix.
"""
from __future__ import annotations

from typing import Any

import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import LinearOperator, lsqr, onenormest, splu
from scipy.spatial import cKDTree

from .._validation import check_points
from ..sampling.neighbors import SCALE_NEIGHBOUR, coincident_groups
from .scattered_derivatives import ScatteredDerivatives
from ..stencils import get_method
from ..stencils.gsp import DISC_SHAPE
from .._warnings import warn
from .._typing import ArrayLike, Geometry

__all__ = ["PoissonSolution", "solve_poisson", "GSP_SHAPE", "COND_WARN"]

#: default ``shape`` (c·r̄²) with the default ``"disc"`` ghosts: the paper's §4.1 value (§4.4
#: gives none); 1.0 or the "circle" layout's 3.0 make the §4.4 disc problem unstable
GSP_SHAPE = DISC_SHAPE
#: a 1-norm condition estimate of ``A`` above this raises a ``RuntimeWarning``
COND_WARN = 1e12


@dataclass
class PoissonSolution:
    """Result of :func:`solve_poisson`.

    Attributes
    ----------
    u : ndarray of shape (N,)
        The solution at the interior points, in the input order.
    residual : float
        ``‖A u − (f − A1 g)‖∞ / ‖f − A1 g‖∞`` of the solved system (round-off level
        unless the matrix is singular).
    condition : float
        Estimate of the 1-norm condition number of ``A`` (``nan`` when singular).
    matrix : scipy.sparse.csr_matrix of shape (n_u, n_u)
        ``A``: the discrete Laplacian (``Δ``, not ``−Δ``) restricted to the unknowns.
        ``n_u = N`` unless interior points coincide (see ``diagnostics``).
    boundary_matrix : scipy.sparse.csr_matrix of shape (n_u, n_known)
        ``A1``: its columns of the known values (boundary nodes, and interior points
        coinciding with a boundary node).
    diagnostics : dict
        The operator's ``diagnostics_`` (per point of the ``N + Nb`` distinct points,
        interior first) plus ``n_unknowns``, ``n_merged`` (interior points merged with a
        coincident interior point), ``n_interior_dirichlet`` (interior points coinciding
        with a boundary node: they take its ``g``), ``singular`` and ``timings``
        (seconds: ``operator``, ``factorize``, ``solve``).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import disc_domain
    >>> p, b = disc_domain(200, 100, radius=1.0, outer=1.4)      # interior, boundary nodes
    >>> sol = om.solve_poisson(p, 4.0, boundary=b, g=lambda q: (q ** 2).sum(1))
    >>> sol.u.shape, sol.matrix.shape, sol.boundary_matrix.shape
    ((200,), (200, 200), (200, 100))
    >>> bool(np.abs(sol.u - (p ** 2).sum(1)).max() < 1e-9), sol.residual < 1e-12
    (True, True)
    """

    u: np.ndarray
    residual: float
    condition: float
    matrix: sparse.csr_matrix = field(repr=False)
    boundary_matrix: sparse.csr_matrix = field(repr=False)
    diagnostics: dict = field(repr=False)


def _values(v, pts, *, name, owner_name):
    """``v`` as float64 (n,): an array of one value per point or a callable of them."""
    n = len(pts)
    if callable(v):
        try:
            out = v(pts.copy())
        except Exception as exc:
            raise ValueError(f"`{name}` (a callable) failed on the {owner_name} of shape "
                             f"{pts.shape}: {type(exc).__name__}: {exc}") from exc
        what = f"`{name}` (a callable) must return one value per {owner_name[:-1]} point"
    else:
        out = v
        what = f"`{name}` must hold one value per {owner_name[:-1]} point"
    arr = np.asarray(out)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{what}: a real numeric array; got dtype {arr.dtype}")
    if np.isscalar(out) or arr.ndim == 0:
        arr = np.full(n, float(arr))          # a constant
    if arr.shape != (n,):
        raise ValueError(f"{what}, shape ({n},); got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{what}, finite; {bad} value(s) are NaN or inf")
    return arr


def _groups(pts):
    """Label of each point's coincidence group (the rule of :func:`neighbors.knn`), or
    ``None`` when no point coincides with another (or all do)."""
    tree = cKDTree(pts)
    dist, _ = tree.query(pts, min(SCALE_NEIGHBOUR + 1, len(pts)))
    return coincident_groups(tree, dist)[1]


def solve_poisson(points: Geometry, f: ArrayLike, *, boundary: Any, g: ArrayLike,
                  method: str = "clsgsp", k: int = 60, order: int | str = 2,
                  ghosts: str | int | ArrayLike | None = None, rbf: str | None = None,
                  shape: float | None = None, workers: int = -1, **options: Any) -> PoissonSolution:
    """Solve ``Δu = f`` in Ω, ``u = g`` on an outer layer of nodes (Ying et al. §4.4).

    Parameters
    ----------
    points : array_like of shape (N, d), d = 2 or 3
        Samples of the domain Ω (the unknowns).
    f : array_like of shape (N,), float, or callable
        Right-hand side ``Δu`` at ``points``; a callable gets the (N, d) points and must
        return (N,) values.
    boundary : array_like of shape (Nb, d)
        Boundary nodes: a layer of points **outside** Ω surrounding it (about a stencil
        radius thick, so that the stencils of points near ∂Ω are not one-sided).
    g : array_like of shape (Nb,), float, or callable
        Dirichlet values at ``boundary`` (same conventions as ``f``).
    method : str, default="clsgsp"
        Stencil method of :class:`o3d_meshless.ScatteredDerivatives` (``"clsgsp"``,
        ``"lsgsp"``, ``"taylor"``, ``"moments"``, ``"orthopoly"``).
    k : int, default=60
        Neighbours per stencil (the paper's n = 60).
    order : int, default=2
        Polynomial order of the stencils (the paper: quadratics).
    ghosts, rbf, shape : optional
        GSP options (ghost points, radial basis function, scale-free shape parameter
        ``c·r̄²``; see :mod:`o3d_meshless.stencils.gsp`), passed to the operator when not
        ``None``. For the GSP methods ``ghosts=None`` means ``"disc"`` in 2-D (§4.4's 49
        ghosts in the disc of half the largest neighbour distance; in 3-D the operator's
        default ghosts on a sphere) and ``shape=None`` means
        the "disc" layout's default ``GSP_SHAPE`` = 0.1 (§4.1's value; §4.4 does not
        give its own; other layouts keep their own default). A shape of 1.0
        makes the disc problem unstable (L∞ error ≈ 10, condition ≈ 4e7); 0.01–0.1 all give errors at or below the paper's (see
        ``examples/seed003_poisson.py``). ``rbf=None``: the operator's default
        (Gaussian).
    workers : int, default=-1
        Threads for the stencils (SciPy's meaning: -1 = all cores).
    **options
        Further keywords of :class:`o3d_meshless.ScatteredDerivatives` (``weights``,
        ``guard``, ``centre``).

    Returns
    -------
    PoissonSolution
        ``u`` (N,) at ``points`` and the system's residual, condition estimate, matrices
        and diagnostics.

    Raises
    ------
    ValueError
        Bad ``points``/``boundary`` (shape, dimension, NaN, too few points for ``k``),
        ``f``/``g`` of the wrong length, non-finite, or callables that fail or return the
        wrong shape; invalid operator options.

    Warns
    -----
    RuntimeWarning
        When ``A`` is singular (the least-squares solution of ``lsqr`` is returned then)
        or its condition estimate exceeds ``COND_WARN``; the operator itself warns about
        rank-deficient stencils.

    Notes
    -----
    Coincident points (closer than ``neighbors.COINCIDENT_RTOL`` × the coincidence scale)
    share one stencil in the operator, which would make ``A`` singular: coincident
    interior points are merged into one unknown, and an interior point on a boundary
    node takes that node's ``g``.

    Examples
    --------
    ``u = x² + y²`` (``Δu = 4``) on the unit disc is reproduced to round-off by the
    quadratic CLS-GSP stencils:

    >>> import numpy as np
    >>> from o3d_meshless.scattered.poisson import solve_poisson
    >>> from o3d_meshless.testing import disc_domain, poisson_exact
    >>> p, b = disc_domain(400, 300, radius=1.0, outer=1.4)
    >>> sol = solve_poisson(p, 4.0, boundary=b, g=lambda q: (q ** 2).sum(1))
    >>> bool(np.abs(sol.u - (p ** 2).sum(1)).max() < 1e-9), sol.residual < 1e-12
    (True, True)

    Ying et al.'s disc problem (``u = 1 + sin 4x + cos 3x + sin 2y``), at a quarter of its
    size:

    >>> p, b = disc_domain(790, 460)
    >>> sol = solve_poisson(p, poisson_exact.laplacian, boundary=b, g=poisson_exact)
    >>> float(np.abs(sol.u - poisson_exact(p)).max()) < 5e-3
    True
    """
    t0 = time.perf_counter()
    pts = check_points(points, name="points", dims=(2, 3), min_points=1)
    bnd = np.asarray(boundary) if boundary is not None else None
    if bnd is None or (bnd.ndim >= 1 and bnd.shape[0] == 0):
        raise ValueError("`boundary` must hold at least one boundary node (a layer of "
                         "points outside the domain carrying the Dirichlet values `g`); got "
                         f"{None if bnd is None else bnd.shape}")
    bnd = check_points(bnd, name="boundary", dims=(2, 3), min_points=1)
    n, dim = pts.shape
    nb = len(bnd)
    if bnd.shape[1] != dim:
        raise ValueError(f"`boundary` must have the dimension of `points` ({dim}); got "
                         f"shape {bnd.shape}")
    fv = _values(f, pts, name="f", owner_name="interior points")
    gv = _values(g, bnd, name="g", owner_name="boundary points")

    gsp = {}
    if "ghosts" in get_method(method).options:
        if ghosts is not None or dim == 2:            # 3-D: the operator's sphere ghosts
            gsp["ghosts"] = "disc" if ghosts is None else ghosts
    elif ghosts is not None:
        gsp["ghosts"] = ghosts           # let the operator say it does not take them
    if rbf is not None:
        gsp["rbf"] = rbf
    if shape is not None:
        gsp["shape"] = shape            # None: the layout's default (0.1 for "disc")

    allp = np.concatenate([pts, bnd])
    # coincidence groups: unknown (interior only) or known (holding a boundary node)
    labels = _groups(allp)
    if labels is None:
        rep = np.arange(n + nb)                        # representative of each point
    else:
        _, first = np.unique(labels, return_index=True)
        rep = first[labels]                            # lowest index of each group
    is_rep = rep == np.arange(n + nb)
    known_group = np.zeros(n + nb, dtype=bool)
    np.logical_or.at(known_group, rep[n:], True)      # groups holding a boundary node
    # value of a known group: mean of its boundary nodes' g
    gsum = np.zeros(n + nb)
    gcnt = np.zeros(n + nb)
    np.add.at(gsum, rep[n:], gv)
    np.add.at(gcnt, rep[n:], 1.0)
    uniq = np.flatnonzero(is_rep)                      # interior reps first (index order)
    col = np.full(n + nb, -1)
    col[uniq] = np.arange(len(uniq))
    unknown = uniq[~known_group[uniq]]                 # all < n
    known = uniq[known_group[uniq]]
    n_merged = int(np.count_nonzero(~is_rep[:n] & ~known_group[rep[:n]]))
    n_dir = int(np.count_nonzero(known_group[rep[:n]]))
    if len(unknown) == 0:
        raise ValueError("every point of `points` coincides with a node of `boundary`; "
                         "nothing to solve")

    op = ScatteredDerivatives(method=method, k=k, order=order, workers=workers,
                              **gsp, **options)
    op.fit(allp[uniq])
    t1 = time.perf_counter()
    lap = (-op.L_).tocsr()                             # Δ_h on the distinct points
    rows = lap[col[unknown]]
    A = rows[:, col[unknown]].tocsr()
    A1 = rows[:, col[known]].tocsr()
    gk = gsum[known] / gcnt[known]
    # an interior unknown's f: mean over its coincident interior points
    fsum = np.zeros(n + nb)
    fcnt = np.zeros(n + nb)
    np.add.at(fsum, rep[:n], fv)
    np.add.at(fcnt, rep[:n], 1.0)
    rhs = fsum[unknown] / fcnt[unknown] - A1 @ gk

    singular = False
    cond = np.nan
    t2 = time.perf_counter()
    try:
        lu = splu(A.tocsc())
    except RuntimeError as exc:                        # "Factor is exactly singular"
        singular = True
        warn(f"solve_poisson: the interior matrix A ({A.shape[0]}×{A.shape[1]}) is "
             f"singular ({exc}); returning lsqr's least-squares solution, which is "
             "not to be trusted (check the stencils: diagnostics['rank_deficient'], "
             "and that `boundary` surrounds `points`)", RuntimeWarning)
        t3 = time.perf_counter()
        uu = lsqr(A, rhs, atol=1e-14, btol=1e-14, iter_lim=20 * A.shape[0])[0]
    else:
        t3 = time.perf_counter()
        uu = lu.solve(rhs)
        m = A.shape[0]
        inv = LinearOperator((m, m), matvec=lu.solve, rmatvec=lambda x: lu.solve(x, trans="T"),
                             dtype=np.float64)
        if m > 4:
            cond = float(sparse.linalg.norm(A, 1) * onenormest(inv))
        else:                                          # onenormest needs a few columns
            cond = float(np.linalg.cond(A.toarray(), 1))
        if not np.isfinite(uu).all() or not cond < COND_WARN:
            warn(f"solve_poisson: the interior matrix A is ill-conditioned "
                 f"(1-norm condition estimate {cond:.2e} > {COND_WARN:.0e}); the "
                 "solution may be inaccurate", RuntimeWarning)
    t4 = time.perf_counter()
    scale = np.abs(rhs).max()
    residual = float(np.abs(A @ uu - rhs).max() / (scale if scale > 0 else 1.0))

    # back to the input interior points
    value = np.empty(n + nb)
    value[unknown] = uu
    value[known] = gk
    u = value[rep[:n]]
    diag = dict(op.diagnostics_)
    diag.update(n_unknowns=len(unknown), n_merged=n_merged, n_interior_dirichlet=n_dir,
                singular=singular,
                timings={"operator": t1 - t0, "factorize": t3 - t2, "solve": t4 - t3})
    return PoissonSolution(u=u, residual=residual, condition=cond, matrix=A,
                           boundary_matrix=A1, diagnostics=diag)
