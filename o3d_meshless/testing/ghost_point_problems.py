"""The experiments of Ying et al.'s ghost-sample-point paper: Poisson problems on a disc
and a flower with an outer layer of Dirichlet nodes, and the closest-point sampling of
the sphere."""
from __future__ import annotations

import numpy as np

from .franke import TestFunction

__all__ = ["gbpm_sphere", "disc_domain", "flower_domain", "flower_radius", "poisson_exact"]


def gbpm_sphere(dx, *, band=1.5, radius=1.0):
    """Closest-point (grid-based particle method) sampling of a sphere (Ying et al. §4.5).

    Every node of the Cartesian grid ``dx·Z³`` within ``band·dx`` of the sphere is
    projected to its closest point on it. Nodes on one ray through the centre project to
    the same or nearly the same point, so the sample holds exact duplicates and
    near-coincident pairs — the irregularity the paper's CLS-GSP is meant to survive.
    Δx = 0.2, 0.1, 0.05, 0.025 give 1010, 3850, 15106, 60434 samples (the paper reports
    984, 3795, 15127, 60322 from a grid whose exact placement it does not give).

    Returns
    -------
    ndarray of shape (n, 3), ordered as the grid nodes (x slowest).
    """
    if not (np.isfinite(dx) and 0 < dx < radius):
        raise ValueError(f"`dx` must be in (0, radius={radius}); got {dx!r}")
    if not (np.isfinite(band) and band > 0):
        raise ValueError(f"`band` must be a positive number; got {band!r}")
    m = int(np.ceil((radius + band * dx) / dx)) + 1
    g = np.arange(-m, m + 1) * dx
    nodes = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    r = np.linalg.norm(nodes, axis=1)
    keep = np.abs(r - radius) < band * dx
    return np.ascontiguousarray(radius * nodes[keep] / r[keep, None])


#: semi-axes of the ellipsoid whose reference spectrum ships in ``../shared/data``


# ---------------------------------------------------------------------------------------

def _annulus_radii(rng, n, r_in, r_out):
    """Radii of ``n`` area-uniform points in the annulus ``r_in < r ≤ r_out``."""
    u = 1.0 - rng.uniform(0.0, 1.0, n)                # (0, 1]: r_in excluded
    return np.sqrt(r_in ** 2 + u * (r_out ** 2 - r_in ** 2))


def disc_domain(n_interior=3159, n_boundary=1841, *, radius=2.0, outer=2.5, seed=0):
    """Random samples of Ying et al. §4.4's disc problem and its outer layer of nodes.

    ``n_interior`` i.i.d. area-uniform points in ``x² + y² ≤ radius²`` and
    ``n_boundary`` in the annulus ``radius² < x² + y² ≤ outer²`` (the paper: 3159 and
    1841, radius 2, outer 2.5).

    Returns
    -------
    interior : ndarray of shape (n_interior, 2)
    boundary : ndarray of shape (n_boundary, 2)

    Examples
    --------
    >>> from o3d_meshless.testing import disc_domain
    >>> p, b = disc_domain(300, 200)
    >>> p.shape, b.shape, bool((p ** 2).sum(1).max() <= 4.0 < (b ** 2).sum(1).min())
    ((300, 2), (200, 2), True)
    """
    n_interior, n_boundary = int(n_interior), int(n_boundary)
    if n_interior < 1 or n_boundary < 1:
        raise ValueError(f"`n_interior` and `n_boundary` must be positive; got "
                         f"{n_interior}, {n_boundary}")
    if not (np.isfinite(radius) and np.isfinite(outer) and 0 < radius < outer):
        raise ValueError(f"need 0 < radius < outer; got radius={radius!r}, outer={outer!r}")
    rng = np.random.default_rng(seed)

    def ring(n, r_in, r_out):
        t = rng.uniform(0.0, 2 * np.pi, n)
        r = _annulus_radii(rng, n, r_in, r_out)
        return np.c_[r * np.cos(t), r * np.sin(t)]

    return ring(n_interior, 0.0, radius), ring(n_boundary, radius, outer)


def flower_radius(theta):
    """Ying et al. §4.4's flower boundary ``r_max(θ) = 1.4 + 0.4 sin 5θ + 0.4 sin 2θ``."""
    theta = np.asarray(theta, dtype=np.float64)
    return 1.4 + 0.4 * np.sin(5 * theta) + 0.4 * np.sin(2 * theta)


def flower_domain(sampling="uniform", *, spacing=0.05, n_interior=2782, n_boundary=2782,
                  band=0.5, seed=0):
    """Samples of Ying et al. §4.4's flower ``r ≤ r_max(θ)`` and its outer band of nodes.

    The band is ``r_max(θ) < r ≤ r_max(θ) + band`` (the paper: 0.5).

    Parameters
    ----------
    sampling : {"uniform", "random"}
        ``"uniform"``: the nodes ``spacing·Z²`` of a grid through the origin, clipped to
        the flower and to the band; ``spacing=0.05`` gives 2678 interior and 2065 band
        nodes (the paper: 2677 and 2066 — its grid is not given; nodes lying on ∂Ω up to
        rounding are counted inside here). ``"random"``: ``n_interior`` and
        ``n_boundary`` i.i.d. area-uniform points (the paper: 2782 each).
    spacing : float
        Grid spacing of ``"uniform"``.
    n_interior, n_boundary : int
        Sample sizes of ``"random"``.
    band : float
        Width of the outer band.
    seed : int
        Random seed of ``"random"``.

    Returns
    -------
    interior : ndarray of shape (N, 2)
    boundary : ndarray of shape (Nb, 2)

    Examples
    --------
    >>> from o3d_meshless.testing import flower_domain
    >>> p, b = flower_domain("uniform", spacing=0.2)
    >>> len(p), len(b)
    (171, 126)
    """
    if sampling not in ("uniform", "random"):
        raise ValueError(f"`sampling` must be 'uniform' or 'random'; got {sampling!r}")
    if not (np.isfinite(band) and band > 0):
        raise ValueError(f"`band` must be a positive number; got {band!r}")
    r_out = 2.2 + band                                # max r_max(θ) < 2.2
    tol = 1e-12
    if sampling == "uniform":
        if not (np.isfinite(spacing) and 0 < spacing < 1):
            raise ValueError(f"`spacing` must be in (0, 1); got {spacing!r}")
        m = int(np.ceil(r_out / spacing)) + 1
        g = np.arange(-m, m + 1) * spacing
        x, y = (a.ravel() for a in np.meshgrid(g, g, indexing="xy"))
        p = np.c_[x, y]
        r, rm = np.hypot(x, y), flower_radius(np.arctan2(y, x))
        inside = r <= rm + tol
        ring = ~inside & (r <= rm + band + tol)
        return np.ascontiguousarray(p[inside]), np.ascontiguousarray(p[ring])
    n_interior, n_boundary = int(n_interior), int(n_boundary)
    if n_interior < 1 or n_boundary < 1:
        raise ValueError(f"`n_interior` and `n_boundary` must be positive; got "
                         f"{n_interior}, {n_boundary}")
    rng = np.random.default_rng(seed)

    def draw(n, lo, hi):                              # rejection sampling in r_out's disc
        out = np.empty((0, 2))
        while len(out) < n:
            t = rng.uniform(0.0, 2 * np.pi, 4 * n)
            r = r_out * np.sqrt(rng.uniform(0.0, 1.0, 4 * n))
            rm = flower_radius(t)
            keep = (r > rm + lo) & (r <= rm + hi) if lo is not None else (r <= rm + hi)
            out = np.r_[out, np.c_[r * np.cos(t), r * np.sin(t)][keep]]
        return np.ascontiguousarray(out[:n])

    return draw(n_interior, None, 0.0), draw(n_boundary, 0.0, band)


def _poisson_value(x, y):
    return 1 + np.sin(4 * x) + np.cos(3 * x) + np.sin(2 * y)


def _poisson_gradient(x, y):
    return 4 * np.cos(4 * x) - 3 * np.sin(3 * x), 2 * np.cos(2 * y)


def _poisson_hessian(x, y):
    return (-16 * np.sin(4 * x) - 9 * np.cos(3 * x), np.zeros_like(x), -4 * np.sin(2 * y))


poisson_exact = TestFunction(
    "seed003-poisson", _poisson_value, _poisson_gradient, _poisson_hessian,
    doc="Ying et al. §4.4's exact solution ``u = 1 + sin 4x + cos 3x + sin 2y``; "
        "``poisson_exact.laplacian(p)`` is the right-hand side ``f = Δu``.")
