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
bias, the bias from the next larger fit of the same order (see :func:`_select_scale`);
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

from ._validation import check_int, check_option, n_threads_from_workers
from .sampling import Sampling, check_options, prepare
from ._typing import ArrayLike, Geometry

__all__ = ["curvature", "CurvatureResult", "ORDERS", "DEFAULT_K", "SCALES"]

ORDERS = (2, 3, 4)
#: default neighbours per order (measured best on exact i.i.d. ellipsoid/torus samples)
DEFAULT_K = {2: 16, 3: 20, 4: 24}
WEIGHTS = ("gaussian", "uniform")
#: rows per batch of the stacked normal equations (memory: chunk·k·p doubles)
CHUNK = 16384
#: a fit whose scaled normal matrix has a larger condition number is refitted at order 2
MAX_CONDITION = 1e10
#: ``scale="auto"`` chooses the fit per point from the noise; ``"fixed"`` fits ``k``, ``order``
SCALES = ("auto", "fixed")
#: design entries (rows × neighbours × coefficients) per batch of fits
FIT_BUDGET = CHUNK * 20 * 10
#: median absolute deviation → standard deviation of a normal distribution
MAD_TO_SIGMA = 1.4826
#: bias growth per doubling of k (r² doubles): the fit's leading omitted terms are O(r²)
#: in the second derivatives at orders 2 (odd cubic terms cancel on average) and 3, O(r⁴)
#: at order 4
BIAS_GROWTH = {2: 2.0, 3: 2.0, 4: 4.0}
#: ``scale="auto"`` looks beyond the base fit where its noise variance exceeds this
#: fraction of its squared bias (both averaged over two rings of neighbours). Measured
#: ratio at 20 000 points, ellipsoid / torus: clean, 99.5th percentile 0.066 / 0.089;
#: noise 0.05 h, 0.5th percentile 0.65 / 0.64
NOISE_GATE = 0.15
#: rings of neighbours the bias estimates of the larger fits are averaged over (at 0.05 h
#: on the ellipsoid, H / K: one ring 3.3 / 7.5 %, two 3.2 / 7.2 %)
BIAS_RINGS = 2
#: weights of the larger fits of ``scale="auto"``: with many neighbours, equal weights
#: give the lowest variance (ellipsoid at 0.05 h, H / K: 2.9 / 6.7 % against 3.7 / 7.2 %
#: with Gaussian ones); None: the ``weights`` argument
LADDER_WEIGHTS = "uniform"
#: default ``k_max``: this multiple of ``k``, at most K_MAX_CAP
K_MAX_FACTOR = 32
K_MAX_CAP = 640
#: ``scale="auto"`` averages the fits whose predicted squared error is within this factor
#: of the least, weighted by its inverse (ellipsoid, 20 000 points, H / K: at 0.05 h,
#: 2.9 / 6.8 % for the single best fit, 2.3 / 5.9 % averaged; at 0.2 h, 6.0 / 14.5 and
#: 4.8 / 13.5 %)
AVERAGE_WITHIN = 10.0
#: growth of the squared residual scale per doubling of k above which it is all the
#: fit's truncation error (see :func:`_select_scale`). Measured residual-scale ratio,
#: k = 40 over k = 20, median (10th-90th percentile): noisy ellipsoid 0.99 (0.85-1.19),
#: raw scan bun000.ply 1.12 (0.94-1.37); coarse meshes bun_zipper_res2 1.78 (1.39-2.67),
#: cow.obj 1.67 (1.27-2.43), bunny.off 1.62 (1.24-2.31); clean ellipsoid 4.5
TRUNCATION_GROWTH = 1.5 ** 2
#: the order-4 family of ``scale="auto"`` starts at this multiple of k (below it its
#: variance, about 3× the cubic's, is never worth its lower bias)
QUARTIC_START = 4


def _monomials(order):
    """Exponents ``(a, b)`` of ``u^a v^b / (a! b!)``, constant first."""
    return [(d - b, b) for d in range(order + 1) for b in range(d + 1)]


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


def height_fit(points, centers, neighbors, frames, order, *, weights="gaussian"):
    """Weighted least-squares height fits ``z(u, v)`` in each centre's tangent frame.

    Parameters
    ----------
    points : ndarray of shape (N, 3)
    centers : ndarray of shape (m,), intp
    neighbors : ndarray of shape (m, k), intp
        The centre itself is added as a data point.
    frames : ndarray of shape (m, 3, 3)
        Rows ``(t_u, t_v, n)`` of each centre.
    order : {2, 3, 4}
    weights : {"gaussian", "uniform"}
        ``"gaussian"``: ``exp(−r²/r̄²)`` with ``r̄`` the RMS neighbour distance.

    Returns
    -------
    derivs : ndarray of shape (m, 6)
        ``z, z_u, z_v, z_uu, z_uv, z_vv`` at ``(0, 0)`` (length, 1, 1, 1/length ×3).
    residual : ndarray of shape (m,)
    condition : ndarray of shape (m,)
    """
    fit = _height_fit(points, centers, neighbors, frames, order, weights=weights)
    return fit["derivs"], fit["residual"], fit["condition"]


def _height_fit(points, centers, neighbors, frames, order, *, weights="gaussian",
                noise=False):
    """:func:`height_fit` with the statistics the scale selection needs.

    Returns a dict with ``derivs``, ``residual``, ``condition`` (as :func:`height_fit`),
    ``variance`` ``(m,)``: the summed variance of ``z_uu, z_uv, z_vv`` per unit noise
    variance (length⁻⁴; from the weighted least-squares covariance
    ``N⁻¹ (Aᵀ W² A) N⁻¹``), ``gradients`` ``(m, 2, 3)``: the same covariance reduced to
    H and K (delta method, ``g C gᵀ`` for the rows of ``g`` given by
    :func:`_hk_gradients`) and, with ``noise=True``, ``sigma`` ``(m,)``: a robust
    estimate of the noise along the normal, ``1.4826 × median |e_i| / √(var factor_i)``
    over the fit's points, each residual ``e_i`` divided by its own standard deviation
    factor ``1 − 2 H_ii + (H Hᵀ)_ii`` (``H``: the weighted hat matrix), which corrects
    for the degrees of freedom the fit takes.
    """
    expo = _monomials(order)
    p = len(expo)
    m = len(centers)
    d = points[neighbors] - points[centers][:, None, :]            # (m, k, 3)
    d = np.concatenate([np.zeros((m, 1, 3)), d], axis=1)
    local = d @ frames.transpose(0, 2, 1)                          # (u, v, z)
    r2 = local[:, :, 0] ** 2 + local[:, :, 1] ** 2
    scale = np.sqrt(r2[:, 1:].mean(axis=1))                        # RMS radius
    scale = np.where(scale > 0, scale, 1.0)
    u = local[:, :, 0] / scale[:, None]
    v = local[:, :, 1] / scale[:, None]
    z = local[:, :, 2] / scale[:, None]
    w = np.exp(-r2 / scale[:, None] ** 2) if weights == "gaussian" else np.ones_like(r2)
    fact = [1.0, 1.0, 2.0, 6.0, 24.0]
    upow, vpow = [np.ones_like(u)], [np.ones_like(v)]
    for _ in range(order):
        upow.append(upow[-1] * u)
        vpow.append(vpow[-1] * v)
    # the design transposed, (m, p, k): each monomial's column is contiguous
    At = np.empty((m, p, u.shape[1]))
    for j, (a, b) in enumerate(expo):
        np.multiply(upow[a], vpow[b], out=At[:, j, :])
        if a > 1 or b > 1:
            At[:, j, :] /= fact[a] * fact[b]
    Awt = At * w[:, None, :]
    N = Awt @ At.transpose(0, 2, 1)                                # (m, p, p)
    rhs = (Awt @ z[:, :, None])[:, :, 0]
    # the design's condition number (square root of the normal matrix's)
    ev = np.linalg.eigvalsh(N)
    condition = np.sqrt(ev[:, -1] / np.maximum(ev[:, 0], 1e-300))
    ok = np.isfinite(condition) & (condition < MAX_CONDITION)
    coef = np.full((m, p), np.nan)
    Ninv = np.full((m, p, p), np.nan)
    if ok.any():
        Ninv[ok] = np.linalg.inv(N[ok])
        coef[ok] = np.einsum("mij,mj->mi", Ninv[ok], rhs[ok])
    e = z - (np.nan_to_num(coef)[:, None, :] @ At)[:, 0, :]
    residual = np.sqrt(np.einsum("mk,mk->m", w, e ** 2) / w.sum(axis=1)) * scale
    residual[~ok] = np.nan
    index = {ex: j for j, ex in enumerate(expo)}
    second = [index[(2, 0)], index[(1, 1)], index[(0, 2)]]
    derivs = np.stack([coef[:, index[(0, 0)]] * scale,
                       coef[:, index[(1, 0)]], coef[:, index[(0, 1)]],
                       coef[:, second[0]] / scale, coef[:, second[1]] / scale,
                       coef[:, second[2]] / scale], axis=1)
    # covariance of the coefficients per unit noise variance (scaled units)
    cov = Ninv @ (Awt @ Awt.transpose(0, 2, 1)) @ Ninv
    c2 = cov[:, second][:, :, second] / scale[:, None, None] ** 4  # z_uu, z_uv, z_vv
    grads = _hk_gradients(derivs)                                  # (m, 2, 3)
    out = {"derivs": derivs, "residual": residual, "condition": condition,
           "variance": np.trace(c2, axis1=1, axis2=2),
           "hk_variance": np.einsum("mai,mij,maj->ma", grads, c2, grads)}
    if noise:
        lever = np.sum((Ninv @ At) * At, axis=1) * w               # H_ii
        spread = np.sum((cov @ At) * At, axis=1)                   # (H Hᵀ)_ii
        factor = np.maximum(1.0 - 2.0 * lever + spread, 1e-12)
        sigma = MAD_TO_SIGMA * np.median(np.abs(e) / np.sqrt(factor), axis=1) * scale
        sigma[~ok] = np.nan
        out["sigma"] = sigma
    return out


def _hk_gradients(derivs):
    """Gradients of H and K with respect to ``(z_uu, z_uv, z_vv)`` ``(m, 2, 3)``, at the
    fitted slopes (the first-order error propagation of :func:`_principal`)."""
    zu, zv, zuu, zuv, zvv = (derivs[:, i] for i in range(1, 6))
    W2 = 1 + zu ** 2 + zv ** 2
    W = np.sqrt(W2)
    E, F, G = 1 + zu ** 2, zu * zv, 1 + zv ** 2
    gH = -np.stack([G, -2 * F, E], axis=1) / (2 * W2 * W)[:, None]
    gK = np.stack([zvv, -2 * zuv, zuu], axis=1) / (W2 * W2)[:, None]
    return np.stack([gH, gK], axis=1)


def _principal(derivs, frames):
    """H, K, k1, k2, dir1 (ambient), dir1 (uv), normals from height-fit derivatives."""
    zu, zv, zuu, zuv, zvv = derivs[:, 1], derivs[:, 2], derivs[:, 3], derivs[:, 4], \
        derivs[:, 5]
    E, F, G = 1 + zu ** 2, zu * zv, 1 + zv ** 2
    W2 = 1 + zu ** 2 + zv ** 2
    W = np.sqrt(W2)
    e, f, g = zuu / W, zuv / W, zvv / W
    det = E * G - F ** 2                                        # = W²
    K = (e * g - f ** 2) / det
    H_up = (e * G - 2 * f * F + g * E) / (2 * det)              # w.r.t. the upward normal
    H = -H_up                                                   # convex, outward: H > 0
    root = np.sqrt(np.maximum(H * H - K, 0.0))
    k1, k2 = H + root, H - root
    # direction of k1: (II − κ I) x = 0 with κ = −k1 the curvature w.r.t. the upward normal
    kap = -k1
    r1 = np.stack([e - kap * E, f - kap * F], axis=1)
    r2 = np.stack([f - kap * F, g - kap * G], axis=1)
    use1 = np.einsum("ij,ij->i", r1, r1) >= np.einsum("ij,ij->i", r2, r2)
    row = np.where(use1[:, None], r1, r2)
    x = np.stack([-row[:, 1], row[:, 0]], axis=1)
    xn = np.linalg.norm(x, axis=1)
    umbilic = ~(xn > 1e-12 * np.maximum(np.abs(k1), 1e-300))
    x[umbilic] = (1.0, 0.0)
    tu, tv, n = frames[:, 0], frames[:, 1], frames[:, 2]
    dir1 = tu * x[:, :1] + tv * x[:, 1:] + n * (zu * x[:, 0] + zv * x[:, 1])[:, None]
    dir1 /= np.linalg.norm(dir1, axis=1, keepdims=True)
    normals = (n - tu * zu[:, None] - tv * zv[:, None]) / W[:, None]
    dir2 = np.cross(normals, dir1)
    uv = np.stack([np.einsum("ij,ij->i", dir1, tu), np.einsum("ij,ij->i", dir1, tv)], axis=1)
    uv /= np.linalg.norm(uv, axis=1, keepdims=True)
    return H, K, k1, k2, dir1, dir2, uv, normals


def _fits(points, centers, nb, frames, order, k, weights, *, n_threads, noise=False,
          neighbors=None):
    """:func:`_height_fit` of ``centers`` over their ``k`` nearest neighbours, in chunks
    of about ``FIT_BUDGET`` design entries; ``neighbors`` given: those lists."""
    p = len(_monomials(order))
    step = max(64, FIT_BUDGET // (k * p))
    parts = []
    for lo in range(0, len(centers), step):
        c = centers[lo:lo + step]
        idx = neighbors[lo:lo + step] if neighbors is not None else \
            nb.query(c, k, n_threads=n_threads)
        parts.append(_height_fit(points, c, idx, frames[c], order, weights=weights,
                                 noise=noise))
    return {key: np.concatenate([q[key] for q in parts]) for key in parts[0]}


def _fits_many(points, centers, nb, frames, configs, weights, *, n_threads):
    """:func:`_height_fit` of ``centers`` for each ``(order, k)`` of ``configs``, one
    neighbour search per batch (the largest k; the others are its prefixes)."""
    k_top = max(kk for _, kk in configs)
    step = max(16, FIT_BUDGET // (k_top * 15))
    parts = [[] for _ in configs]
    for lo in range(0, len(centers), step):
        c = centers[lo:lo + step]
        idx = nb.query(c, k_top, n_threads=n_threads)
        for part, (o, kk) in zip(parts, configs):
            part.append(_height_fit(points, c, idx[:, :kk], frames[c], o, weights=weights))
    return [{key: np.concatenate([q[key] for q in part]) for key in part[0]}
            for part in parts]


def _pooled(sigma, indices):
    """Median of each point's noise estimate and its neighbours'."""
    return np.nanmedian(np.concatenate([sigma[:, None], sigma[indices]], axis=1), axis=1)


def _around(values, indices, rows):
    """Mean of ``values`` over each row's point and its neighbours (``indices[rows]``),
    NaN entries (points outside the selection) left out."""
    stack = np.concatenate([values[rows][:, None], values[indices[rows]]], axis=1)
    count = np.isfinite(stack).sum(axis=1)
    total = np.nansum(stack, axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _ladder(order, k, k_max, n):
    """The candidate fits of ``scale="auto"``: ``[(order, k_j)]`` per family, k doubling."""
    def rungs(start, stop):
        ks = []
        while start <= min(stop, n - 1):
            ks.append(start)
            start *= 2
        return ks
    families = [[(order, kk) for kk in rungs(k, k_max)]]
    if order < 4:                                # lower bias, for the larger scales
        families.append([(4, kk) for kk in rungs(QUARTIC_START * k, 2 * k_max)])
    return [f for f in families if len(f) >= 2]


def curvature(geometry: Geometry, *, k: int | None = None, order: int | str = 3,
              weights: int | str | None = "gaussian", normals: str | ArrayLike = "auto",
              orient: str | None = "mst", height_order: int = 2,
              workers: int = -1, scale: str = "auto",
              k_max: int | None = None) -> CurvatureResult:
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
    >>> from o3d_meshless.surface_curvature import curvature
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
                    orient=orient, workers=workers, progress=False)
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
        hk_bias, selection = _select_scale(
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


def _select_scale(points, nb, frames, order, k0, weights, base, noise, derivs, order_used,
                  k_used, hk_var, *, scale, k_max, n_threads):
    """The bias–variance choice of ``scale="auto"`` (updates ``derivs``, ``order_used``,
    ``k_used``, ``hk_var`` in place); returns the bias estimates of H and K ``(m, 2)``
    and diagnostics.

    Each family of fits (one order, ``k`` doubling) has second derivatives ``θ_j`` with
    noise variance ``v_j = σ² tr C_j`` and a bias that grows by ``ρ`` per doubling
    (``ρ = 2`` for orders 2 and 3: the O(r²) quartic terms; 4 for order 4), so
    ``θ_{j+1} − θ_j ≈ (ρ − 1) b_j`` and ``b_j² ≈ (|θ_{j+1} − θ_j|² − (v_j − v_{j+1}))
    / (ρ − 1)²`` (nested fits: the difference's variance is about ``v_j − v_{j+1}``),
    averaged over the point's neighbourhood (the bias is smooth along the surface, its
    estimate is not). Each point takes the fits within ``AVERAGE_WITHIN`` of the least
    ``v_j + b_j²``, averaged with weights ``1 / (v_j + b_j²)``; ``k_used``, ``order_used``
    and the error estimates are those of the best one.
    """
    m = len(points)
    ok = order_used == order
    rows = np.flatnonzero(ok)
    second = slice(3, 6)
    # the base fit against the next rung: its bias, and which points are noisy
    nxt = _fits(points, rows, nb, frames, order, min(2 * k0, m - 1), weights,
                n_threads=n_threads, noise=True)
    # the residual scale s mixes noise σ (the same at both scales) and the fit's
    # truncation error T (larger at the larger scale): with s2² = σ² + γ T², s1² = σ² + T²,
    # σ² = (γ s1² − s2²) / (γ − 1); γ = TRUNCATION_GROWTH attributes all of a growth of
    # s by √γ or more to truncation (coarse meshes' features, not noise)
    s2 = np.full(m, np.nan)
    s2[rows] = nxt["sigma"]
    s1 = _pooled(noise, nb.indices)           # two rings: the ratio scatters locally
    s2 = _pooled(_pooled(s2, nb.indices), nb.indices)
    gamma = TRUNCATION_GROWTH
    noise[:] = np.sqrt(np.maximum(gamma * s1 ** 2 - s2 ** 2, 0) / (gamma - 1))
    noise[~ok] = np.nan
    rho = BIAS_GROWTH[order]
    diff = np.full((m, 3), np.nan)
    diff[rows] = nxt["derivs"][:, second] - derivs[rows, second]
    v0 = np.full(m, np.nan)
    v0[rows] = base["variance"][rows] * noise[rows] ** 2
    v1 = np.full(m, np.nan)
    v1[rows] = nxt["variance"] * noise[rows] ** 2
    everyone = np.arange(m)
    bias2 = _around(np.sum(diff ** 2, axis=1) - np.maximum(v0 - v1, 0), nb.indices,
                    everyone) / (rho - 1) ** 2
    # the gate compares both over two rings of neighbours: the single-ring ratio
    # still scatters by 3× where noise dominates
    wide_bias2 = _around(bias2, nb.indices, everyone)
    wide_v0 = _around(_around(v0, nb.indices, everyone), nb.indices, everyone)
    hk_var[:] = base["hk_variance"] * noise[:, None] ** 2
    bias2 = np.maximum(bias2, 0)
    grads = _hk_gradients(derivs)
    hk_bias = np.full((m, 2), np.nan)
    hk_bias[rows] = np.einsum("mai,mi->ma", grads[rows], diff[rows]) / (rho - 1)
    # noise variance above the truncation error: larger neighbourhoods may pay
    noisy = (wide_v0 > NOISE_GATE * np.maximum(wide_bias2, 0)).astype(float)
    # a majority vote over two rings: a noisy point left at the base fit costs a
    # hundred times more than the others gain, and noise is not a one-point affair
    noisy = ok & (_around(_around(noisy, nb.indices, everyone), nb.indices, everyone) > 0.5)
    selection = {"noisy_points": int(noisy.sum())}
    if scale == "fixed" or not noisy.any():
        return hk_bias, selection
    rows = np.flatnonzero(noisy)
    best = v0[rows] + bias2[rows]
    chosen = {"derivs": derivs[rows].copy(), "hk_var": hk_var[rows].copy(),
              "hk_bias": hk_bias[rows].copy(), "order": np.full(len(rows), order),
              "k": np.full(len(rows), k0)}
    families = _ladder(order, k0, k_max, m)
    configs = sorted({config for family in families for config in family})
    all_fits = dict(zip(configs, _fits_many(points, rows, nb, frames, configs,
                                            LADDER_WEIGHTS or weights, n_threads=n_threads)))
    cand = [(best.copy(), derivs[rows].copy())]
    for family in families:
        fam_order = family[0][0]
        rho = BIAS_GROWTH[fam_order]
        base_rung = fam_order == order and (LADDER_WEIGHTS or weights) == weights
        fits = [all_fits[config] for config in family]
        # the last rung only measures the bias of the one below it
        for j, (o, kk) in enumerate(family[:-1]):
            if base_rung and j == 0:
                continue                                 # the base fit, scored above
            delta = fits[j + 1]["derivs"][:, second] - fits[j]["derivs"][:, second]
            var_j = fits[j]["variance"] * noise[rows] ** 2
            var_next = fits[j + 1]["variance"] * noise[rows] ** 2
            raw = np.full(m, np.nan)
            raw[rows] = np.sum(delta ** 2, axis=1) - np.maximum(var_j - var_next, 0)
            for _ in range(BIAS_RINGS):
                raw[rows] = _around(raw, nb.indices, rows)
            mse = var_j + np.maximum(raw[rows], 0) / (rho - 1) ** 2
            cand.append((mse, fits[j]["derivs"]))
            better = np.isfinite(mse) & (mse < best) & np.isfinite(fits[j]["derivs"]).all(1)
            if not better.any():
                continue
            best[better] = mse[better]
            dv = fits[j]["derivs"][better]
            chosen["derivs"][better] = dv
            chosen["hk_var"][better] = fits[j]["hk_variance"][better] \
                * noise[rows[better], None] ** 2
            chosen["hk_bias"][better] = np.einsum(
                "mai,mi->ma", _hk_gradients(dv), delta[better]) / (rho - 1)
            chosen["order"][better] = o
            chosen["k"][better] = kk
    # average the fits whose predicted error is near the least, weighted by its inverse:
    # it steadies the choice, whose error estimates are noisy themselves
    mses = np.stack([c[0] for c in cand])
    dvs = np.stack([c[1] for c in cand])
    use = np.isfinite(mses) & (mses <= AVERAGE_WITHIN * best) & np.isfinite(dvs).all(axis=2)
    wts = np.where(use, 1.0 / np.where(use, np.maximum(mses, 1e-300), 1.0), 0.0)
    wts /= wts.sum(axis=0)
    chosen["derivs"] = np.einsum("cm,cmi->mi", wts, np.where(use[:, :, None], dvs, 0.0))
    derivs[rows] = chosen["derivs"]
    hk_var[rows] = chosen["hk_var"]
    hk_bias[rows] = chosen["hk_bias"]
    order_used[rows] = chosen["order"]
    k_used[rows] = chosen["k"]
    selection["widened"] = int(np.sum(chosen["k"] > k0))
    return hk_bias, selection
