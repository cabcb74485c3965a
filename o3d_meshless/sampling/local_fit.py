"""Weighted least-squares height fits of a point's neighbours in its tangent frame.

The fitting primitive of the curvature estimates (:mod:`o3d_meshless.toolkit.surface_curvature`)
and of :func:`o3d_meshless.denoise_points`: a polynomial height ``z(u, v)`` of order
2–4 through each centre's neighbours, its derivatives at the centre, their principal
curvatures and directions.
"""
from __future__ import annotations

import numpy as np

#: rows per batch of the stacked normal equations (memory: chunk·k·p doubles)
CHUNK = 16384
#: a fit whose scaled normal matrix has a larger condition number is refitted at order 2
MAX_CONDITION = 1e10
#: median absolute deviation → standard deviation of a normal distribution
MAD_TO_SIGMA = 1.4826


def _monomials(order):
    """Exponents ``(a, b)`` of ``u^a v^b / (a! b!)``, constant first."""
    return [(d - b, b) for d in range(order + 1) for b in range(d + 1)]


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
