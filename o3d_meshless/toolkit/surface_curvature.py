"""Principal curvatures of a sampled surface from local height-function fits.

(The module is not called ``curvature``: the package exports the function
``o3d_meshless.curvature``, and a submodule of the same name would replace it as the
package attribute as soon as it is imported.)

Each point's neighbours are written in its tangent frame ``(t_u, t_v, n)`` (the frames
:func:`o3d_meshless.prepare` estimates) as heights ``z(u, v)`` over the tangent plane, and
a polynomial of order 2, 3 or 4 with a constant term is fitted by weighted least squares
(all points at once: normal equations stacked as ``(n, p, p)`` and inverted in chunks by
:func:`numpy.linalg.inv`, whose inverse also gives the fit's covariance). The fitted slopes and second derivatives at ``(0, 0)`` give
the first and second fundamental forms of the Monge patch ``(u, v, z(u, v))``,

    E = 1 + z_u²,  F = z_u z_v,  G = 1 + z_v²,  W = √(1 + z_u² + z_v²),
    e = z_uu / W,  f = z_uv / W,  g = z_vv / W,

including the slope terms, since the frame normal is only an estimate of the surface
normal. Then ``K = (eg − f²)/(EG − F²)``, ``H = −(eG − 2fF + gE) / (2(EG − F²))`` and the
principal curvatures and directions are the eigenpairs of ``(e f; f g)`` relative to
``(E F; F G)``.

**Sign convention.** Curvature is positive where the surface bends *away* from its
normal: with outward normals a convex surface has ``H > 0`` (the unit sphere has
``H = 1``, ``K = 1``, ``k1 = k2 = 1``). Normals are those of the geometry when it has
them (a mesh's follow its face winding), else estimated and oriented by
``orient`` (default ``"mst"``: one orientation propagated over each connected piece,
seeded outward at its highest point). ``K`` does not depend on the orientation; ``H``,
``k1``, ``k2`` change sign with it (and ``k1``, ``k2`` swap).

**Order.** The order-2 fit's second derivatives carry the cubic terms of the surface
as an error of order ``h`` on irregular samples; order 3 (the default) removes them
(error ``O(h²)``, and no more sensitive to noise than order 2 at the same ``k``);
order 4 is ``O(h³)`` on exact samples (CAD or analytic points) but amplifies position
noise about 3× more. Measured, RMS error over RMS value, i.i.d. points, default ``k``:

* ellipsoid (1, 0.6, 0.3), 20 000 points, H / K: order 2: 1.65 % / 4.4 %,
  order 3: 0.75 % / 1.40 %, order 4: 0.06 % / 0.18 %;
* torus (R = 1, r = 0.4), 20 000 points: 0.96 % / 2.6 %, 0.45 % / 0.63 %,
  0.01 % / 0.03 %;

(observed orders from 5 000 to 80 000 points: 1.1, 1.9, 3.0.)

**Scale under noise** (``scale="auto"``, the default). Position noise σ enters the
second derivatives as about ``σ / (r² √k)`` (``r``: the fit's radius), the fit's own
truncation error as ``r²`` (order 3) or ``r⁴`` (order 4), so noisy samples need larger
neighbourhoods, the more so where the surface is flat. Each point's noise is estimated
from the base fit's residuals (a robust scale of the residuals, each divided by its
own standard-deviation factor from the fit's hat matrix; median over the point and its
neighbours), less the part that grows with the neighbourhood (truncation error, see
``TRUNCATION_GROWTH``). Where the noise variance of the base fit's second derivatives
(from the least-squares covariance) exceeds ``NOISE_GATE`` times their squared bias
(from the base fit against the fit over ``2k``), the point is fitted again at ``order``
over ``k, 2k, 4k, … , k_max`` neighbours and at order 4 over ``4k, … , 2 k_max``, with
equal weights. Each fit's squared error is predicted as noise variance plus squared
bias, the bias from the next larger fit of the same order (see :func:`o3d_meshless.toolkit.curvature_scale.select_scale`);
the point takes the average of the fits predicted within ``AVERAGE_WITHIN`` of the
least, weighted by the inverse prediction. On clean samples the base fit is kept at every point (the
results are those of ``scale="fixed"``, bit for bit). ``k_used``, ``order_used``,
``noise``, ``mean_error`` and ``gaussian_error`` report the choice. Measured, 20 000
i.i.d. points, noise ``σ = f h`` (``h``: mean nearest-neighbour distance, isotropic 3-D
Gaussian), error at the clean points (``benchmarks/bench_curvature_noise.py``):

=================  ================  ================  ================  ================
H / K, %           f = 0             f = 0.05          f = 0.2           f = 0.5
=================  ================  ================  ================  ================
ellipsoid, fixed   0.51 / 0.83       85 / 454          331 / 5 419       789 / 28 559
ellipsoid, auto    0.51 / 0.83       2.3 / 5.9         4.8 / 13.5        24 / 445
torus, fixed       0.45 / 0.63       35 / 93           137 / 644         334 / 2 978
torus, auto        0.45 / 0.63       1.5 / 3.1         3.7 / 7.3         6.4 / 12.5
=================  ================  ================  ================  ================

(ellipsoid: RMS relative error; torus, where K crosses zero: RMS error over RMS
value.) At 0.5 h about 30 of the ellipsoid's thin-rim points stay at the base fit
(the truncation error there grows with k as fast as a coarse mesh's, so the noise
estimate reads 0) and carry most of its error; without the worst 20, H is 9.4 %. A noisy
20 000-point cloud takes about 35–40 s against 2 s for the fixed fit. Coarse meshes'
vertices are partly taken for noisy: ``scale="auto"`` widened 3 % of
``bun_zipper_res2.ply`` and 26 % of ``cow.obj`` (``scale="fixed"`` keeps the old fit).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_int, check_option, n_threads_from_workers
from .curvature_scale import K_MAX_CAP, K_MAX_FACTOR, _fits, _pooled, select_scale
from ..sampling.local_fit import _monomials, _principal, height_fit  # noqa: F401 (height_fit: public)
from ..sampling.sampled_surface import Sampling, check_options, prepare
from .._typing import ArrayLike, Geometry

__all__ = ["curvature", "CurvatureResult", "ORDERS", "DEFAULT_K", "SCALES"]

ORDERS = (2, 3, 4)
#: default neighbours per order (measured best on exact i.i.d. ellipsoid/torus samples)
DEFAULT_K = {2: 16, 3: 20, 4: 24}
WEIGHTS = ("gaussian", "uniform")
#: ``scale="auto"`` chooses the fit per point from the noise; ``"fixed"`` fits ``k``, ``order``
SCALES = ("auto", "fixed")
@dataclass
class CurvatureResult:
    """Per-point curvature of a sampled surface (input order; see :func:`curvature`).

    Attributes
    ----------
    mean : ndarray of shape (n,)
        Mean curvature ``H = (k1 + k2) / 2`` (unit sphere, outward normals: 1).
    gaussian : ndarray of shape (n,)
        Gaussian curvature ``K = k1 k2``.
    k1, k2 : ndarray of shape (n,)
        Principal curvatures, ``k1 >= k2``.
    dir1, dir2 : ndarray of shape (n, 3)
        Unit principal directions in ambient coordinates (``dir1`` for ``k1``;
        ``dir2 = normals × dir1``). Their sign is arbitrary; at umbilics any
        orthonormal pair.
    dir1_uv : ndarray of shape (n, 2)
        ``dir1`` projected on the tangent frame axes ``(t_u, t_v)``, normalised.
    normals : ndarray of shape (n, 3)
        Unit normals of the fitted surfaces (oriented like the frames).
    frames : ndarray of shape (n, 3, 3)
        The tangent frames the fits were made in, rows ``(t_u, t_v, n)``.
    residual : ndarray of shape (n,)
        Weighted RMS distance (along the frame normal) of the neighbours from the fitted
        surface, in length units: the fit quality. Compare it with the spacing: on
        exact samples it is round-off to 1e-4 of it; on a scan, the noise level.
    condition : ndarray of shape (n,)
        Condition number of the (scaled) least-squares design; large on degenerate
        neighbourhoods (scan lines, a few collinear neighbours).
    order_used : ndarray of shape (n,), int
        Fit order per point (lowered to 2 where the requested order was singular;
        0 where no fit was possible, which leaves NaN).
    order, k : int
        The requested order and the base neighbourhood size.
    k_used : ndarray of shape (n,), int
        Neighbours of the fit used per point (``k`` unless ``scale="auto"`` widened it;
        0 where no fit was possible). With ``order_used`` it names the fit; where
        ``scale="auto"`` averaged several fits, the one of least predicted error.
    noise : ndarray of shape (n,)
        Estimated noise along the normal (length units): the base fits' robust residual
        scale (MAD of the residuals, each divided by its own standard-deviation factor
        so the fit's degrees of freedom are accounted for), median over the point and
        its neighbours. On exact samples it is the fit's truncation error.
    mean_error, gaussian_error : ndarray of shape (n,)
        Estimated error (one standard deviation, length⁻¹ and length⁻²) of ``mean``
        and ``gaussian``: the noise variance propagated through the fit's covariance,
        plus the squared bias estimated from the next larger fit of the same order.
        Measured on the ellipsoid and torus, RMS of the actual error over RMS of this
        estimate: see the module notes.
    diagnostics : dict
        ``lowered_order``, ``failed``, ``noise_level`` (median ``noise`` over the
        median spacing), ``scale``, ``noisy_points`` (points whose noise variance
        exceeded the base fit's bias), ``widened`` (points fitted over more than ``k``
        neighbours).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> c = om.curvature(random_sphere(1000, seed=0))            # unit sphere: H = K = 1
    >>> c.mean.shape, c.dir1.shape, c.frames.shape
    ((1000,), (1000, 3), (1000, 3, 3))
    >>> round(float(np.median(c.mean)), 2), round(float(np.median(c.gaussian)), 2)
    (1.01, 1.03)
    >>> bool(np.all(c.k1 >= c.k2)), bool(np.all(c.mean_error > 0))
    (True, True)
    """

    mean: np.ndarray
    gaussian: np.ndarray
    k1: np.ndarray
    k2: np.ndarray
    dir1: np.ndarray
    dir2: np.ndarray
    dir1_uv: np.ndarray
    normals: np.ndarray
    frames: np.ndarray
    residual: np.ndarray
    condition: np.ndarray
    order_used: np.ndarray
    order: int
    k: int
    k_used: np.ndarray | None = None
    noise: np.ndarray | None = None
    mean_error: np.ndarray | None = None
    gaussian_error: np.ndarray | None = None
    diagnostics: dict = field(default_factory=dict)

    def __repr__(self):
        return (f"CurvatureResult(n={len(self.mean)}, order={self.order}, k={self.k}, "
                f"mean H={np.nanmean(self.mean):.4g}, median residual="
                f"{np.nanmedian(self.residual):.3g})")

def curvature(geometry: Geometry, *, k: int | None = None, order: int | str = 3,
              weights: int | str | None = "gaussian", normals: str | ArrayLike = "auto",
              orient: str | None = "mst", height_order: int = 2,
              workers: int = -1, scale: str = "auto",
              k_max: int | None = None, progress: bool | None = None) -> CurvatureResult:
    """Mean, Gaussian and principal curvatures and principal directions of a surface.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry, array_like of shape (n, 3), or Sampling
        A :class:`~o3d_meshless.Sampling` is used as it is (its ``k``, normals and
        orientation; the fits use the input positions of its points even when it was
        built on smoothed ones).
    k : int or None, default=None
        Neighbours per fit at the base scale; default ``DEFAULT_K[order]`` (16, 20, 24 for
        orders 2, 3, 4).
    order : {2, 3, 4}, default=3
        Order of the height polynomial at the base scale (see the module notes: 2 is
        first-order accurate on irregular samples, 3 second-order).
    weights : {"gaussian", "uniform"}, default="gaussian"
        Least-squares weights ``exp(−r²/r̄²)`` (``r̄``: RMS neighbour distance) or none.
    normals, orient, height_order, workers :
        As in :func:`o3d_meshless.prepare` (the frames and their orientation); the
        default ``orient="mst"`` makes the sign of ``H`` consistent over each piece.
    scale : {"auto", "fixed"}, default="auto"
        ``"fixed"``: every point is fitted at ``order`` over ``k`` neighbours (the
        behaviour before ``scale`` existed). ``"auto"``: where the estimated noise
        dominates the base fit's error, the fit is chosen per point from larger
        neighbourhoods (``k`` doubling up to ``k_max`` at ``order``, and order 4 from
        ``4 k`` to ``2 k_max``) by the smallest predicted error, noise variance plus
        squared bias, averaging the fits within ``AVERAGE_WITHIN`` of the least (see the
        module notes). On clean samples the base fit is kept.
    k_max : int or None, default=None
        Largest neighbourhood of the ``order`` ladder of ``scale="auto"`` (its last rung
        only measures the bias of the one below); default ``K_MAX_FACTOR × k`` (640 at
        order 3).
    progress : bool or None, default=None
        Progress bars of the neighbourhoods and frames (not of a given Sampling); None:
        only when stderr is a terminal and a stage takes over a second.

    Returns
    -------
    CurvatureResult
        ``mean``, ``gaussian``, ``k1 >= k2``, ``dir1``, ``dir2`` (ambient unit
        vectors), ``dir1_uv`` (frame coordinates), ``normals``, ``frames``,
        ``residual`` (fit RMS, length units), ``condition``, ``order_used``, ``k_used``,
        ``noise``, ``mean_error``, ``gaussian_error``; all in input order (coincident
        points share one fit).

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.toolkit.surface_curvature import curvature
    >>> from o3d_meshless.testing import random_sphere
    >>> c = curvature(2.0 * random_sphere(2000, seed=0))       # radius 2
    >>> round(float(np.median(c.mean)), 2), round(float(np.median(c.gaussian)), 2)
    (0.5, 0.25)
    >>> bool(np.all(c.k1 >= c.k2)), c.dir1.shape, int(np.median(c.k_used))
    (True, (2000, 3), 20)

    Noisy samples get larger neighbourhoods where the noise calls for them:

    >>> p = 2.0 * random_sphere(4000, seed=0)
    >>> noisy = p + 0.002 * np.random.default_rng(1).normal(size=p.shape)
    >>> c = curvature(noisy)
    >>> bool(np.median(c.k_used) > 20), round(float(np.median(c.mean)), 1)
    (True, 0.5)
    >>> bool(abs(np.median(c.noise) - 0.002) < 0.0005)
    True
    """
    order = check_option(check_int(order, name="order"), ORDERS, name="order")
    check_option(weights, WEIGHTS, name="weights")
    check_option(scale, SCALES, name="scale")
    p = len(_monomials(order))
    if k is None:
        k = DEFAULT_K[order]
    k = check_int(k, name="k", low=p)
    if k_max is not None:
        k_max = check_int(k_max, name="k_max", low=k)
    n_threads = n_threads_from_workers(workers)
    if isinstance(geometry, Sampling):
        s = geometry
    else:
        check_options(k=k, normals=normals, height_order=height_order, orient=orient)
        s = prepare(geometry, k=k, normals=normals, height_order=height_order,
                    orient=orient, workers=workers, progress=progress)
    nb = s.neighborhoods
    m = len(nb.points)
    if nb.k < p:
        raise ValueError(f"`geometry` is a Sampling with k = {nb.k} neighbours, fewer than "
                         f"the {p} coefficients of an order-{order} fit: prepare it with "
                         f"k >= {p} or lower `order`")
    # the input positions (a Sampling may be built on smoothed ones, whose leftover noise
    # is correlated over a neighbourhood and would hide from the residuals below)
    kept = getattr(s, "kept", None)
    base_points = s.points if kept is None else s.points[kept]
    points = np.ascontiguousarray(base_points[nb.first_members()], dtype=np.float64)
    frames = s.frames
    k0 = nb.k
    centers = np.arange(m, dtype=np.intp)
    base = _fits(points, centers, nb, frames, order, k0, weights, n_threads=n_threads,
                 noise=True, neighbors=nb.indices)
    derivs = base["derivs"].copy()
    residual, condition = base["residual"].copy(), base["condition"].copy()
    order_used = np.where(np.isfinite(derivs).all(axis=1), order, 0)
    k_used = np.where(order_used > 0, k0, 0)
    retry = np.flatnonzero(order_used == 0)
    if order > 2 and len(retry):            # singular at this order: try a quadratic
        dv, res, cond = height_fit(points, retry, nb.indices[retry], frames[retry], 2,
                                   weights=weights)
        good = np.isfinite(dv).all(axis=1)
        derivs[retry[good]], residual[retry[good]] = dv[good], res[good]
        condition[retry[good]] = cond[good]
        order_used[retry[good]] = 2
        k_used[retry[good]] = k0
    # residual scale along the normal, pooled over the neighbourhood (a point's own
    # estimate has only k + 1 - p degrees of freedom)
    noise = _pooled(base["sigma"], nb.indices)
    noise[order_used != order] = np.nan
    hk_var = np.full((m, 2), np.nan)
    hk_bias = np.full((m, 2), np.nan)
    selection = {"noisy_points": 0}
    if m > 2 * k0 + 1:
        if k_max is None:
            k_max = min(K_MAX_FACTOR * k0, K_MAX_CAP)
        hk_bias, selection = select_scale(
            points, nb, frames, order, k0, weights, base, noise, derivs, order_used,
            k_used, hk_var, scale=scale, k_max=min(k_max, m - 1), n_threads=n_threads)
    else:
        hk_var = base["hk_variance"] * noise[:, None] ** 2
    H, K, k1, k2, dir1, dir2, uv, nrm = _principal(derivs, frames)
    error = np.sqrt(hk_var + np.nan_to_num(hk_bias) ** 2)
    error[order_used == 0] = np.nan
    ex = s.expand
    spacing = float(nb.spacing) if getattr(nb, "spacing", None) else float("nan")
    diagnostics = {"lowered_order": int(np.sum((order_used > 0) & (order_used < order))),
                   "failed": int(np.sum(order_used == 0)),
                   "noise_level": float(np.nanmedian(noise) / spacing)
                   if np.isfinite(noise).any() and spacing > 0 else float("nan"),
                   "scale": scale, **selection}
    return CurvatureResult(mean=ex(H), gaussian=ex(K), k1=ex(k1), k2=ex(k2), dir1=ex(dir1),
                           dir2=ex(dir2), dir1_uv=ex(uv), normals=ex(nrm),
                           frames=ex(frames), residual=ex(residual),
                           condition=ex(condition), order_used=ex(order_used), order=order,
                           k=int(k0), k_used=ex(k_used), noise=ex(noise),
                           mean_error=ex(error[:, 0]), gaussian_error=ex(error[:, 1]),
                           diagnostics=diagnostics)
