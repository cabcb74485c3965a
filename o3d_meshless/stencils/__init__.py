"""Stencil methods: one compiled kernel per method, one registry, one public entry.

Every method turns the local coordinates of a neighbourhood into derivative weights
``w_j`` applied as ``sum_j w_j (f_j - f_0)``. Methods know nothing about Open3D,
sparse matrices or eigenvalues. Each method module exports a
:class:`~o3d_meshless.stencils.spec.MethodSpec`; the registry
(:mod:`o3d_meshless.stencils.registry`) is a dict of them, and the rest of the library
asks the spec instead of comparing method names.

Registered methods
------------------
``"taylor"``
    Centre-constrained Taylor least squares of order 1–4 (Turner, Belward & Oqielat),
    with their error bounds.
``"moments"``
    Moment coefficients: first derivatives (first order) and the Laplacian (equal to the
    unweighted order-2 Taylor Laplacian) from one fit; ``order`` is fixed at 2,
    ``k > d(d+3)/2`` (see :mod:`o3d_meshless.stencils.moments`).
``"orthopoly"``
    Discrete orthonormal polynomials with rank-revealing monomial selection (Carley),
    order 1–4, centre-interpolating (default) or published least-squares centre; a
    derivative the stencil's basis cannot represent gets NaN weights (see
    :mod:`o3d_meshless.stencils.orthopoly`).
``"clsgsp"``, ``"lsgsp"``
    Ghost-sample-point reconstructions (Ying et al.): RBFs centred on a fixed layout of
    ghost points plus polynomials of degree ``order`` (1–4), constrained through the
    centre value (``"clsgsp"``) or not (``"lsgsp"``); first and second derivatives;
    options ``rbf``, ``shape``, ``ghosts`` (see :mod:`o3d_meshless.stencils.gsp`).

Add a method with :func:`register_method` (a kernel wrapper and a spec).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_bool, check_int, check_points
from .registry import (DEFAULT_METHOD, METHODS, get_method, method_options, register_method,
                       unregister_method)
from .result import StencilWeights, check_offset_scale, one_stencil
from .spec import MethodSpec, weight_power_from
from .._typing import ArrayLike

__all__ = ["stencil_weights", "StencilWeights", "METHODS", "DEFAULT_METHOD", "MethodSpec",
           "get_method", "register_method", "unregister_method", "method_options",
           "weight_power_from"]

#: options of :func:`stencil_weights` that belong to single stencils of some methods
_STENCIL_ONLY = {"rtol": None, "strict": False}


def stencil_weights(offsets: ArrayLike, *, method: str = "taylor", order: int | str = 2,
                    weights: int | str | None = None, centre: str | None = None,
                    rtol: float | None = None, strict: bool = False, rbf: str | None = None,
                    shape: float | None = None,
                    ghosts: str | int | ArrayLike | None = None) -> StencilWeights:
    """Derivative weights of one stencil from neighbour offsets.

    Parameters
    ----------
    offsets : array_like of shape (k, d)
        Neighbour positions minus the centre, ``d`` = 2 (planar / tangent-plane
        coordinates) or 3 (volumetric). No row may be zero.
    method : str or MethodSpec, default="taylor"
        A registered stencil method (see :data:`METHODS`). ``"moments"`` (moment
        coefficients) returns the first
        derivatives and the key ``"laplacian"``; it needs ``order=2``, ``weights=None``
        and ``k > d(d+3)/2`` offsets.
    order : int, default=2
        Taylor order ``n``; the stencil needs ``k >= p`` offsets, ``p`` being the number
        of derivatives up to order ``n`` (5 for ``n=2``, 9 for ``n=3`` in 2-D).
    weights : None or int, default=None
        ``None``: unweighted Taylor rows; ``0``: Turner et al.'s classical least squares
        (rows divided by ``h_j``); ``d`` in 1..4: their weights ``h_j^-d`` on top
        (see :func:`weight_power_from`).
    centre : {"interpolate", "least-squares"} or None, default=None
        ``"orthopoly"`` only (``None`` = ``"interpolate"``): fit through the centre value
        (default; for operators that are inverted or eigen-solved) or the published
        variant with the centre as an ordinary least-squares point (pointwise
        derivatives). Both are applied as ``Σ_j w_j (f_j − f₀)`` (see
        :mod:`o3d_meshless.stencils.orthopoly`); the centre weight, ``−Σ_j w_j``, is in
        ``.centre_weight``.
    rbf, shape, ghosts :
        ``"clsgsp"``/``"lsgsp"`` only (ghost-point RBFs): radial kernel (default ``"gaussian"``),
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
    ≤ 4 whose monomial set the offsets support completely (Carley's recommendation).
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
    spec = get_method(method)
    check_bool(strict, name="strict")
    opts = method_options(spec, centre=centre, rbf=rbf, shape=shape, ghosts=ghosts)
    for name, value in (("rtol", rtol), ("strict", strict)):
        if value != _STENCIL_ONLY[name] and name not in spec.stencil_options:
            users = "/".join(repr(s.name) for s in METHODS.values()
                             if name in s.stencil_options)
            raise ValueError(f"`{name}` applies to method {users} only; got {value!r} "
                             f"with method {spec.name!r}")
    check_offset_scale(offsets)
    if spec.stencil is not None:
        extra = {"rtol": rtol, "strict": strict}
        return spec.stencil(offsets, order=order, weights=weights, **opts,
                            **{k: v for k, v in extra.items() if k in spec.stencil_options})
    off = check_points(offsets, name="offsets", dims=(2, 3), min_points=1)
    order = check_int(order, name="order", low=1, high=spec.max_order)
    if spec.fixed_order is not None and order != spec.fixed_order:
        raise ValueError(f"`order` must be {spec.fixed_order} for method {spec.name!r} (its "
                         f"order is fixed); got {order}")
    if weights is not None and not spec.weighted:
        raise ValueError(f"`weights` must be None for method {spec.name!r} (the published fit "
                         f"is unweighted); got {weights!r}")
    wp = weight_power_from(weights)
    k, d = off.shape
    if spec.check_k is not None:
        spec.check_k(k, d, opts)
    p = spec.n_unknowns(order, d)
    if k < p:
        raise ValueError(f"`offsets` must have at least {p} rows for order {order} in {d}-D "
                         f"(one per unknown derivative); got {k}: add neighbours or lower `order`")
    dist, points, nbrs = one_stencil(off)
    names, targets = spec.targets(order, d)
    w, diag, status = spec.kernel(points, nbrs, np.zeros(1, dtype=np.intp), None, order=order,
                                  targets=targets, weight_power=wp, bounds=True, n_threads=1,
                                  **opts)
    if status[0] != 0:
        raise RuntimeError(f"LAPACK failed on this stencil (info={int(status[0])})")
    diagnostics = dict(zip(spec.diagnostics, diag[0].tolist()))
    diagnostics["rank"] = int(diagnostics["rank"])
    diagnostics["h_max"] = float(dist.max())
    return StencilWeights(w[0], tuple(names), diagnostics, order=order, method=spec.name)
