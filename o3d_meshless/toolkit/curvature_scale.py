"""``curvature(scale="auto")``: the fitting scale of each point from its noise.

A ladder of fits per point (order 3 over k, 2k, … up to ``k_max``; order 4 from 4k),
each one's error predicted as noise variance plus squared bias, and the fits within
``AVERAGE_WITHIN`` of the best averaged; see :func:`select_scale`.
"""
from __future__ import annotations

import numpy as np

from ..sampling.local_fit import CHUNK, _height_fit, _hk_gradients, _monomials


#: design entries (rows × neighbours × coefficients) per batch of fits
FIT_BUDGET = CHUNK * 20 * 10
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
#: fit's truncation error (see :func:`select_scale`). Measured residual-scale ratio,
#: k = 40 over k = 20, median (10th-90th percentile): noisy ellipsoid 0.99 (0.85-1.19),
#: raw scan bun000.ply 1.12 (0.94-1.37); coarse meshes bun_zipper_res2 1.78 (1.39-2.67),
#: cow.obj 1.67 (1.27-2.43), bunny.off 1.62 (1.24-2.31); clean ellipsoid 4.5
TRUNCATION_GROWTH = 1.5 ** 2
#: the order-4 family of ``scale="auto"`` starts at this multiple of k (below it its
#: variance, about 3× the cubic's, is never worth its lower bias)
QUARTIC_START = 4


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


def select_scale(points, nb, frames, order, k0, weights, base, noise, derivs, order_used,
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
