"""Stencil methods: one compiled kernel per method, one registry, one public entry.

Every method turns the local coordinates of a neighbourhood into derivative weights
``w_j`` applied as ``sum_j w_j (f_j - f_0)``. Methods know nothing about Open3D,
sparse matrices or eigenvalues.

Registered methods
------------------
``"taylor"``
    Centre-constrained Taylor least squares of order 1–4 (seed 001).
``"moments"``
    Seed 000's moment coefficients: first derivatives (first order) and the Laplacian
    (equal to the unweighted order-2 Taylor Laplacian) from one fit; ``order`` is fixed
    at 2, ``k > d(d+3)/2`` (see :mod:`o3d_meshless.stencils.moments`).
``"orthopoly"``
    Seed 002's discrete orthonormal polynomials with rank-revealing monomial selection,
    order 1–4, centre-interpolating (default) or published least-squares centre; a
    derivative the stencil's basis cannot represent gets NaN weights (see
    :mod:`o3d_meshless.stencils.orthopoly`).
``"clsgsp"``, ``"lsgsp"``
    Seed 003's ghost-sample-point reconstructions: RBFs centred on a fixed layout of
    ghost points plus polynomials of degree ``order`` (1–4), constrained through the
    centre value (``"clsgsp"``) or not (``"lsgsp"``); first and second derivatives; options
    ``rbf``, ``shape``, ``ghosts`` (see :mod:`o3d_meshless.stencils.gsp`).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._validation import check_bool, check_int, check_option, check_points
from ..neighbors import SPACING_RANGE
from . import gsp as _gsp
from . import moments as _moments
from . import orthopoly as _orthopoly
from . import taylor as _taylor

__all__ = ["stencil_weights", "StencilWeights", "METHODS", "weight_power_from",
           "method_options", "GSP_METHODS"]

#: method name -> (kernel wrapper, function giving the number of unknowns)
METHODS = {
    "taylor": (_taylor.taylor_weights, _taylor.n_unknowns, _taylor.monomials),
    # n_unknowns of "moments" is the least k of the seed's rule k > d(d+3)/2
    "moments": (_moments.moments_weights, _moments.n_unknowns, _moments.monomials),
    # n_unknowns of "orthopoly" is the least k for a complete basis (fewer is allowed:
    # the basis is then incomplete and the missing derivatives are NaN)
    "orthopoly": (_orthopoly.orthopoly_weights, _orthopoly.n_unknowns, _orthopoly.monomials),
    # order = polynomial degree; derivatives of order 1 and 2 only
    "clsgsp": (_gsp.clsgsp_weights, _gsp.n_unknowns, _gsp.monomials),
    "lsgsp": (_gsp.lsgsp_weights, _gsp.n_unknowns, _gsp.monomials),
}

#: orders each method supports
MAX_ORDER = {"taylor": 4, "moments": 2, "orthopoly": 4, "clsgsp": 4, "lsgsp": 4}

#: methods taking seed 003's ``rbf``, ``shape`` and ``ghosts`` options
GSP_METHODS = ("clsgsp", "lsgsp")


def method_options(method, *, centre=None, rbf=None, shape=None, ghosts=None, owner=None):
    """Keyword options of ``method``'s kernel wrapper from the public method-specific options.

    ``centre`` belongs to ``"orthopoly"``; ``rbf``, ``shape``, ``ghosts`` to the GSP methods.
    An option given to a method it does not apply to is a ``ValueError`` naming it.
    """
    where = f" of {owner}" if owner else ""
    given = {"centre": centre, "rbf": rbf, "shape": shape, "ghosts": ghosts}
    own = {"orthopoly": ("centre",)}.get(method, ("rbf", "shape", "ghosts")
                                         if method in GSP_METHODS else ())
    for opt, val in given.items():
        if val is not None and opt not in own:
            users = "'orthopoly'" if opt == "centre" else "'clsgsp'/'lsgsp'"
            raise ValueError(f"`{opt}`{where} applies to method {users} only; got {val!r} "
                             f"with method {method!r}")
    if method == "orthopoly":
        centre = "interpolate" if centre is None else centre
        check_option(centre, _orthopoly.CENTRES, name="centre", owner=owner)
        return {"centre": centre}
    if method in GSP_METHODS:
        rbf, shape, ghosts = _gsp.check_gsp_options(rbf, shape, ghosts, owner=owner)
        return {"rbf": rbf, "shape": shape, "ghosts": ghosts}
    return {}

DIAGNOSTIC_NAMES = ("rcond", "sigma_min_A", "sigma_min_A21", "rank")


def weight_power_from(weights, *, owner=None):
    """Map the public ``weights`` option to the exponent ``d`` of seed 001's ``W = h^-d``.

    Seed 001 writes each Taylor row divided by ``h_j`` (its matrix ``A``) and weights it
    by ``W = diag(h_j^-d)``:

    * ``None`` (default): unweighted Taylor rows ``f_j − f_0 = Σ D^α f ν^α/α!``, i.e. the
      seed's ``W A`` with ``W = diag(h_j)`` (``d = −1``); the best-behaved choice for
      Laplacians on irregular samples (fewest rows need the guard);
    * ``0``: the seed's classical least squares (rows of ``A``);
    * ``d`` in 1..4: the seed's weighted least squares, ``W = diag(h_j^-d)``.

    The seed's Propositions 3.3/4.3 hold for any positive ``W``, so the reported
    ``sigma_min_A``/``sigma_min_A21`` always refer to the system actually solved.
    """
    if weights is None:
        return -1.0
    return float(check_int(weights, name="weights", low=0, high=4, owner=owner))


class StencilWeights(Mapping):
    """Derivative weights of one stencil, keyed by multi-index.

    ``w[(1, 0)]`` is an array of shape (k,) with ``∂f/∂x₁(x₀) ≈ Σ_j w_j (f_j − f₀)``.
    The centre weight of a derivative is ``-w[alpha].sum()``.

    Attributes
    ----------
    diagnostics : dict
        ``rcond`` (σ_min/σ_max of the design in coordinates scaled to unit radius),
        ``sigma_min_A`` (seed 001's Bound1 ingredient σ₁ of A, or σ̄₁ of WA),
        ``sigma_min_A21`` (Bound2 ingredient σ̂₁ after the Householder reduction),
        ``rank`` (numerical rank of the design) and ``h_max``.
    order : int
    method : str
    """

    def __init__(self, weights, multi_indices, diagnostics, *, order, method):
        self._w = {m: weights[:, i] for i, m in enumerate(multi_indices)}
        self.diagnostics = diagnostics
        self.order = order
        self.method = method

    def __getitem__(self, key):
        return self._w[key if isinstance(key, str) else tuple(key)]

    def __iter__(self):
        return iter(self._w)

    def __len__(self):
        return len(self._w)

    def apply(self, values_diff):
        """Derivatives from neighbour differences ``f_j - f_0`` (shape (k,) or (k, c))."""
        d = np.asarray(values_diff, dtype=np.float64)
        return {m: w @ d for m, w in self._w.items()}

    def __repr__(self):
        keys = ", ".join(str(m) for m in self._w)
        return (f"StencilWeights(method={self.method!r}, order={self.order}, "
                f"k={len(next(iter(self._w.values())))}, derivatives=[{keys}])")


def _one_stencil(off):
    """Kernel inputs for a single stencil given its validated (k, d) offsets:
    ``(dist, points, neighbours)`` with the centre as point 0. Rejects zero offsets."""
    dist = np.linalg.norm(off, axis=1)
    if (dist == 0).any():
        j = int(np.flatnonzero(dist == 0)[0])
        raise ValueError(f"`offsets` row {j} is zero: a neighbour coincides with the centre; "
                         "drop it (coincident points carry no derivative information)")
    points = np.vstack([np.zeros((1, off.shape[1])), off])
    nbrs = np.arange(1, len(off) + 1, dtype=np.intp)[None, :]
    return dist, points, nbrs


def _check_offset_scale(offsets):
    """Refuse stencils whose size is outside the range the kernels handle in floating
    point (order 4 raises the radius to the 5th power, which over- or underflows beyond it)."""
    off = np.asarray(offsets)
    if off.dtype.kind not in "fiu" or off.ndim != 2 or not off.size:
        return                                   # check_points names the problem
    with np.errstate(all="ignore"):
        radius = float(np.abs(off).max())        # the largest coordinate, within √3
    if np.isfinite(radius) and radius and not SPACING_RANGE[0] <= radius <= SPACING_RANGE[1]:
        raise ValueError(f"`offsets` reach {radius:.3g} from the centre, outside "
                         f"[{SPACING_RANGE[0]:g}, {SPACING_RANGE[1]:g}]: multiply them by a "
                         f"constant s first (the weights of a derivative of order q then "
                         f"scale by s**q)")


def stencil_weights(offsets, *, method="taylor", order=2, weights=None, centre=None,
                    rtol=None, strict=False, rbf=None, shape=None, ghosts=None):
    """Derivative weights of one stencil from neighbour offsets.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        Neighbour positions minus the centre, ``d`` = 2 (planar / tangent-plane
        coordinates) or 3 (volumetric). No row may be zero.
    method : {"taylor", "moments", "orthopoly", "clsgsp", "lsgsp"}, default="taylor"
        Stencil method (see :data:`METHODS`). ``"moments"`` (seed 000) returns the first
        derivatives and the key ``"laplacian"``; it needs ``order=2``, ``weights=None``
        and ``k > d(d+3)/2`` offsets.
    order : int, default=2
        Taylor order ``n``; the stencil needs ``k >= p`` offsets, ``p`` being the number
        of derivatives up to order ``n`` (5 for ``n=2``, 9 for ``n=3`` in 2-D).
    weights : None or int, default=None
        ``None``: unweighted Taylor rows; ``0``: seed 001's classical least squares
        (rows divided by ``h_j``); ``d`` in 1..4: seed 001's weights ``h_j^-d`` on top
        (see :func:`weight_power_from`).
    centre : {"interpolate", "least-squares"} or None, default=None
        ``"orthopoly"`` only (``None`` = ``"interpolate"``): fit through the centre value
        (default; for operators that are inverted or eigen-solved) or the published
        variant with the centre as an ordinary least-squares point (pointwise
        derivatives). Both are applied as ``Σ_j w_j (f_j − f₀)`` (see
        :mod:`o3d_meshless.stencils.orthopoly`); the centre weight, ``−Σ_j w_j``, is in
        ``.centre_weight``.
    rbf, shape, ghosts :
        ``"clsgsp"``/``"lsgsp"`` only (seed 003): radial kernel (default ``"gaussian"``),
        scale-free shape parameter ``c·r̄²`` and ghost layout (default ``"circle"``: 8
        ghosts on the circle of radius the mean neighbour distance); see
        :mod:`o3d_meshless.stencils.gsp`. ``order`` is the polynomial degree (1–4);
        derivatives of order 1 and 2 are returned, with ``.centre_weight`` (for
        ``"lsgsp"`` the centre's own least-squares weight).
    rtol : float or None
        ``"orthopoly"`` only: relative threshold of the monomial rank test (default
        :data:`o3d_meshless.stencils.orthopoly.RTOL`).
    strict : bool, default=False
        ``"orthopoly"`` only: raise ``ValueError`` when a requested derivative is not
        representable by the stencil's basis, instead of returning NaN weights.

    With ``method="orthopoly"`` ``order`` may be ``"highest-complete"``: the highest order
    ≤ 4 whose monomial set the offsets support completely (the seed's recommendation).
    The result then also has ``.rejected`` (rejected candidate monomials, constant
    included for the least-squares centre), ``.complete_order``, ``.available``
    (derivative -> bool) and the same entries in ``.diagnostics``.

    Returns
    -------
    StencilWeights
        Mapping from multi-index (e.g. ``(1, 0)``, ``(0, 2)``, ``(1, 1)``) to an array of
        shape (k,), applied as ``Σ_j w_j (f_j − f₀)``, with ``.diagnostics``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> t = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> off = 0.1 * np.c_[np.cos(t), np.sin(t)]
    >>> off = np.vstack([off, 0.05 * off[::2] / 0.1])
    >>> w = om.stencil_weights(off, order=2)
    >>> f = lambda p: 1 + 2 * p[:, 0] + p[:, 0] * p[:, 1]
    >>> round(float(w[(1, 0)] @ (f(off) - 1)), 12), round(float(w[(1, 1)] @ (f(off) - 1)), 12)
    (2.0, 1.0)
    """
    check_option(method, tuple(METHODS), name="method")
    check_bool(strict, name="strict")
    opts = method_options(method, centre=centre, rbf=rbf, shape=shape, ghosts=ghosts)
    if method == "orthopoly":
        return _orthopoly_stencil(offsets, order, weights, centre, rtol, strict)
    if rtol is not None:
        raise ValueError(f"`rtol` applies to method 'orthopoly' only; got {rtol!r} "
                         f"with method {method!r}")
    _check_offset_scale(offsets)
    if method in GSP_METHODS:
        return _gsp_stencil(offsets, method, order, weights, opts)
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=MAX_ORDER[method])
    wp = weight_power_from(weights)
    kernel, n_unknowns, monomials = METHODS[method]
    k, d = off.shape
    p = n_unknowns(order, d)
    if method == "moments":
        if order != 2:
            raise ValueError(f"`order` must be 2 for method 'moments' (its order is fixed: "
                             f"first derivatives and the Laplacian); got {order}")
        _moments.check_k(k, d)
    if k < p:
        raise ValueError(f"`offsets` must have at least {p} rows for order {order} in {d}-D "
                         f"(one per unknown derivative); got {k}: add neighbours or lower `order`")
    dist, points, nbrs = _one_stencil(off)
    ms = monomials(order, d)
    targets = list(ms)
    if method == "moments":
        ms = ms + ("laplacian",)
        targets.append(_moments.laplacian_target(d))
    w, diag, status = kernel(points, nbrs, np.zeros(1, dtype=np.intp), None, order=order,
                             targets=targets, weight_power=wp, bounds=True, n_threads=1)
    if status[0] != 0:
        raise RuntimeError(f"LAPACK failed on this stencil (info={int(status[0])})")
    diagnostics = dict(zip(DIAGNOSTIC_NAMES, diag[0].tolist()))
    diagnostics["rank"] = int(diagnostics["rank"])
    diagnostics["h_max"] = float(dist.max())
    return StencilWeights(w[0], ms, diagnostics, order=order, method=method)


def _gsp_stencil(offsets, method, order, weights, opts):
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=MAX_ORDER[method])
    if weights is not None:
        raise ValueError(f"`weights` must be None for method {method!r} (the published fit is "
                         f"unweighted); got {weights!r}")
    k, d = off.shape
    p = _gsp.n_unknowns(order, d)
    if k < p:
        raise ValueError(f"`offsets` must have at least {p} rows for polynomial degree {order} "
                         f"in {d}-D (one per polynomial term); got {k}: add neighbours or lower "
                         "`order`")
    n_ghosts = len(_gsp.ghost_layout(opts["ghosts"], d)[0])   # layout errors first
    if k + (method == "lsgsp") < n_ghosts:
        raise ValueError(f"`offsets` must hold at least as many samples as ghosts ({n_ghosts}) "
                         f"for a least-squares fit; got {k}: add neighbours or use fewer ghosts")
    dist, points, nbrs = _one_stencil(off)
    ms = _gsp.monomials(order, d)
    w, diag, status, centre = _gsp.gsp_weights(
        points, nbrs, np.zeros(1, dtype=np.intp), None, order=order, targets=list(ms),
        constrained=method == "clsgsp", details=True, **opts)
    if status[0] != 0:
        raise RuntimeError(f"LAPACK failed on this stencil (info={int(status[0])})")
    diagnostics = dict(zip(DIAGNOSTIC_NAMES, diag[0].tolist()))
    diagnostics["rank"] = int(diagnostics["rank"])
    diagnostics["h_max"] = float(dist.max())
    sw = StencilWeights(w[0], ms, diagnostics, order=order, method=method)
    sw.centre_weight = dict(zip(ms, centre[0].tolist()))
    sw.options = dict(opts)
    return sw


def _orthopoly_stencil(offsets, order, weights, centre, rtol, strict):
    centre = "interpolate" if centre is None else centre
    check_option(centre, _orthopoly.CENTRES, name="centre")
    rtol = _orthopoly.RTOL if rtol is None else rtol
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) \
            or not (0 < rtol < 1):
        raise ValueError(f"`rtol` must be a number in (0, 1); got {rtol!r}")
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    k, d = off.shape
    highest = isinstance(order, str)
    if highest:
        check_option(order, ("highest-complete",), name="order")
        order = MAX_ORDER["orthopoly"]
    else:
        order = check_int(order, name="order", low=1, high=MAX_ORDER["orthopoly"])
    wp = weight_power_from(weights)
    dist, points, nbrs = _one_stencil(off)

    def run(n):
        ms = _orthopoly.monomials(n, d)
        return ms, _orthopoly.orthopoly_weights(
            points, nbrs, np.zeros(1, dtype=np.intp), None, order=n, targets=list(ms),
            weight_power=wp, centre=centre, rtol=float(rtol), details=True)

    ms, (w, diag, status, det) = run(order)
    if highest:
        comp = int(det["complete_order"][0])
        if comp < 1:
            raise ValueError(f"`offsets` support no complete first-order basis ({k} "
                             "neighbour(s)); add neighbours")
        order = min(comp, order)
        ms, (w, diag, status, det) = run(order)
    comp = int(det["complete_order"][0])
    available = {m: sum(m) <= comp for m in ms}
    if strict and not all(available.values()):
        missing = [m for m, ok in available.items() if not ok]
        raise ValueError(f"derivatives {missing} are not representable on these offsets: the "
                         f"basis is complete only to order {comp}; add neighbours, lower "
                         "`order` or use order='highest-complete'")
    cand = _orthopoly.candidates(order, d, centre == "least-squares")
    mask = int(det["rejected"][0])
    rejected = tuple(m for i, m in enumerate(cand) if (mask >> i) & 1)
    diagnostics = {"rcond": float(diag[0, 0]), "rank": int(diag[0, 3]),
                   "h_max": float(dist.max()), "rejected_monomials": rejected}
    diagnostics["complete_order"] = comp
    sw = StencilWeights(w[0], ms, diagnostics, order=order, method="orthopoly")
    sw.centre = centre
    sw.rejected = rejected
    sw.complete_order = comp
    sw.available = available
    sw.centre_weight = dict(zip(ms, det["centre_weights"][0].tolist()))
    return sw
