"""Generic test geometry: samplers of the sphere, ellipsoid and torus, analytic spectra,
convergence orders. Samplers return float64 arrays of shape (n, 3)."""
from __future__ import annotations

import numpy as np

__all__ = ["fibonacci_sphere", "random_sphere", "random_ellipsoid", "ELLIPSOID_AXES",
           "random_torus", "torus_grid", "torus_normals", "ellipsoid_curvatures",
           "torus_curvatures", "tangential", "sphere_eigenvalue_errors", "observed_order",
           "random_disc", "random_hemisphere", "disc_neumann_eigenvalues",
           "hemisphere_neumann_eigenvalues", "torus_eigenvalues"]


def fibonacci_sphere(n):
    """``n`` nearly uniform points on the unit sphere (golden-angle spiral)."""
    i = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * i / n)
    theta = np.pi * (1 + 5 ** 0.5) * i
    return np.c_[np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)]


def random_sphere(n, seed=0):
    """``n`` i.i.d. uniform points on the unit sphere."""
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def random_hemisphere(n, seed=0, rim=False):
    """``n`` i.i.d. uniform points on the upper unit hemisphere (``z >= 0``), an open
    surface whose boundary is the equator. ``rim=True``: the points within half a
    spacing of the equator are replaced by points evenly spaced on it (see
    :func:`random_disc`)."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(3 * n, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    p = p[p[:, 2] >= 0][:n]
    if not rim:
        return p
    h = np.sqrt(2 * np.pi / n)
    return np.r_[p[p[:, 2] > h / 2], _unit_circle(h, rng)]


def random_disc(n, seed=0, rim=False):
    """``n`` i.i.d. uniform points on the unit disc in the plane ``z = 0``.

    ``rim=True``: the points within half a spacing ``h = √(area / n)`` of the boundary
    are replaced by points ``h`` apart on it, as a mesh's boundary vertices or a scan's
    outermost points lie on the rim (about ``n + √n`` points then). Without them the
    true rim lies about half a spacing beyond the outermost samples, and that missing
    strip is a first-order error of any Neumann spectrum computed from the points.
    """
    rng = np.random.default_rng(seed)
    r = np.sqrt(rng.uniform(size=n))
    t = rng.uniform(0, 2 * np.pi, n)
    p = np.c_[r * np.cos(t), r * np.sin(t), np.zeros(n)]
    if not rim:
        return p
    h = np.sqrt(np.pi / n)
    return np.r_[p[r < 1 - h / 2], _unit_circle(h, rng)]


def _unit_circle(h, rng):
    """Points ``h`` apart (about) on the unit circle in ``z = 0``, at a random phase."""
    m = max(3, int(round(2 * np.pi / h)))
    t = rng.uniform(0, 2 * np.pi) + np.arange(m) * (2 * np.pi / m)
    return np.c_[np.cos(t), np.sin(t), np.zeros(m)]


def hemisphere_neumann_eigenvalues(count):
    """The ``count`` smallest nonzero Neumann eigenvalues of the unit hemisphere:
    ``l(l+1)`` with multiplicity ``l + 1`` (the harmonics even in ``z``)."""
    vals = [l * (l + 1) for l in range(1, 40) for _ in range(l + 1)]
    return np.asarray(vals[:count], dtype=np.float64)


def disc_neumann_eigenvalues(count):
    """The ``count`` smallest nonzero Neumann eigenvalues ``j'_{m,s}²`` of the unit disc,
    with multiplicity (two for ``m > 0``); ``count <= 40``."""
    from scipy.special import jnp_zeros

    vals = []
    for m in range(8):
        for z in jnp_zeros(m, 5):
            vals += [z ** 2] * (1 if m == 0 else 2)
    return np.sort(vals)[:count]


ELLIPSOID_AXES = (1.0, 0.6, 0.3)


def random_ellipsoid(n, axes=ELLIPSOID_AXES, seed=0):
    """``n`` i.i.d. points, uniform by area, on the ellipsoid with semi-axes ``axes``.

    Uniform sphere points are mapped by ``x ↦ axes·x`` and accepted with probability
    proportional to the area element of that map, ``Π axes · |x / axes|``.
    """
    a = np.asarray(axes, dtype=np.float64)
    rng = np.random.default_rng(seed)
    bound = np.prod(a) * np.sqrt(np.sum(1.0 / a**2))   # ≥ the largest area element
    out = []
    count = 0
    while count < n:
        x = rng.normal(size=(2 * n, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        element = np.prod(a) * np.linalg.norm(x / a, axis=1)
        keep = x[rng.uniform(size=len(x)) * bound < element]
        out.append(keep * a)
        count += len(keep)
    return np.concatenate(out)[:n]


def torus_grid(n_u, n_v, R=1.0, r=0.4, *, jitter=0.0, seed=0):
    """Points on the torus ``((R + r cos v) cos u, (R + r cos v) sin u, r sin v)`` on a
    ``n_u × n_v`` parameter grid, optionally jittered by ``jitter`` grid cells."""
    rng = np.random.default_rng(seed)
    u, v = np.meshgrid(np.arange(n_u) * 2 * np.pi / n_u, np.arange(n_v) * 2 * np.pi / n_v,
                       indexing="ij")
    u = u.ravel() + jitter * rng.uniform(-0.5, 0.5, u.size) * 2 * np.pi / n_u
    v = v.ravel() + jitter * rng.uniform(-0.5, 0.5, v.size) * 2 * np.pi / n_v
    return np.c_[(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)]


def random_torus(n, R=1.0, r=0.4, seed=0):
    """``n`` i.i.d. area-uniform points on the torus
    ``((R + r cos v) cos u, (R + r cos v) sin u, r sin v)`` (rejection sampling of the
    area element ``(R + r cos v)``)."""
    rng = np.random.default_rng(seed)
    u, v = np.empty(0), np.empty(0)
    while len(u) < n:
        uu = rng.uniform(0, 2 * np.pi, 2 * n)
        vv = rng.uniform(0, 2 * np.pi, 2 * n)
        keep = rng.uniform(0, 1, 2 * n) < (R + r * np.cos(vv)) / (R + r)
        u, v = np.r_[u, uu[keep]], np.r_[v, vv[keep]]
    u, v = u[:n], v[:n]
    return np.c_[(R + r * np.cos(v)) * np.cos(u), (R + r * np.cos(v)) * np.sin(u), r * np.sin(v)]


def torus_eigenvalues(count, R=1.0, r=0.4, *, n_theta=4000):
    """The ``count`` smallest Laplace–Beltrami eigenvalues of the torus of
    :func:`random_torus`, zero first, with multiplicity.

    The torus is a surface of revolution: eigenfunctions are ``e^{imφ} f(θ)`` with
    ``−(ρ f')' / (r² ρ) + m² f / ρ² = λ f``, ``ρ = R + r cos θ``, a periodic problem in
    ``θ`` solved here by second-order finite volumes on ``n_theta`` cells (relative
    accuracy about 1e-7 at the default for the first 30 eigenvalues).
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    step = 2 * np.pi / n_theta
    theta = step * np.arange(n_theta)
    rho = R + r * np.cos(theta)
    rho_face = R + r * np.cos(theta + step / 2)
    i = np.arange(n_theta)
    diff = sp.csr_matrix((np.r_[-np.ones(n_theta), np.ones(n_theta)],
                          (np.r_[i, i], np.r_[i, (i + 1) % n_theta])),
                         shape=(n_theta, n_theta)) / step
    stiffness = diff.T @ sp.diags(rho_face / r ** 2) @ diff
    weight = sp.diags(rho).tocsc()
    vals = []
    for m in range(count):
        A = (stiffness + sp.diags(m ** 2 / rho)).tocsc()
        # the m-th family starts above m²/(R+r)², so the families below count suffice
        if vals and len(vals) >= count and m ** 2 / (R + r) ** 2 > sorted(vals)[count - 1]:
            break
        found = sla.eigsh(A, min(count, n_theta - 2), weight, sigma=-1e-3, which="LM",
                          return_eigenvectors=False)
        vals += list(found) * (1 if m == 0 else 2)
    return np.sort(vals)[:count]


def ellipsoid_curvatures(points, axes=ELLIPSOID_AXES):
    """Closed-form ``(H, K)`` of the ellipsoid ``Σ x_i² / a_i² = 1`` at ``points`` on it
    (mean curvature positive for outward normals)."""
    a, b, c = axes
    x, y, z = points.T
    s = x * x / a ** 4 + y * y / b ** 4 + z * z / c ** 4
    K = 1.0 / (a * a * b * b * c * c * s * s)
    H = (a * a + b * b + c * c - (points * points).sum(axis=1)) \
        / (2 * a * a * b * b * c * c * s ** 1.5)
    return H, K


def torus_curvatures(points, R=1.0, r=0.4):
    """Closed-form ``(H, K)`` of the torus of :func:`random_torus` at ``points`` on it
    (mean curvature positive for normals pointing away from the tube's core)."""
    cos_v = (np.hypot(points[:, 0], points[:, 1]) - R) / r
    H = (R + 2 * r * cos_v) / (2 * r * (R + r * cos_v))
    K = cos_v / (r * (R + r * cos_v))
    return H, K


def torus_normals(points, R=1.0):
    """Outward unit normals of the torus with centre-circle radius ``R`` at ``points``."""
    rho = np.hypot(points[:, 0], points[:, 1])
    centre = np.c_[R * points[:, 0] / rho, R * points[:, 1] / rho, np.zeros(len(points))]
    n = points - centre
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def tangential(vectors, normals):
    """Project ambient vectors onto the tangent planes: ``v − (v·n) n``."""
    return vectors - np.einsum("ij,ij->i", vectors, normals)[:, None] * normals


def sphere_eigenvalue_errors(vals, l_max=6):
    """E2(l) = sqrt(mean over the 2l+1 eigenvalues of ((λ − l(l+1)) / (l(l+1)))²).

    ``vals`` are ascending eigenvalues of −Δ on the unit sphere, ``vals[0] ≈ 0``.
    """
    out, i = [], 1
    for l in range(1, l_max + 1):
        v = np.asarray(vals[i:i + 2 * l + 1])
        if len(v) < 2 * l + 1:
            raise ValueError(f"`vals` must hold at least {(l_max + 1) ** 2} eigenvalues")
        out.append(np.sqrt(np.mean(((v - l * (l + 1)) / (l * (l + 1))) ** 2)))
        i += 2 * l + 1
    return np.array(out)


def observed_order(err_coarse, err_fine, n_coarse, n_fine):
    """Convergence order in the spacing h ∝ n^(-1/2) of a surface sample."""
    return np.log(np.asarray(err_coarse) / np.asarray(err_fine)) / np.log(np.sqrt(n_fine / n_coarse))
