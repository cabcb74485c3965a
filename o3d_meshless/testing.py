"""Analytic geometry and fields for convergence studies (used by the tests, too).

Samplers return float64 arrays of shape (n, 3); fields return values at given points.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fibonacci_sphere", "random_sphere", "gbpm_sphere", "torus_grid", "torus_normals",
           "sphere_eigenvalue_errors", "tangential", "observed_order",
           "TestFunction", "FRANKE", "SEED001", "franke", "franke_nodes",
           "derivative_max", "lipschitz_estimate",
           "disc_domain", "flower_domain", "flower_radius", "poisson_exact"]


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


def gbpm_sphere(dx, *, band=1.5, radius=1.0):
    """Closest-point (grid-based particle method) sampling of a sphere (seed 003 §4.5).

    Every node of the Cartesian grid ``dx·Z³`` within ``band·dx`` of the sphere is
    projected to its closest point on it. Nodes on one ray through the centre project to
    the same or nearly the same point, so the sample holds exact duplicates and
    near-coincident pairs — the irregularity the seed's CLS-GSP is meant to survive.
    Δx = 0.2, 0.1, 0.05, 0.025 give 1010, 3850, 15106, 60434 samples (the seed reports
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


# ---------------------------------------------------------------------------------------
# Franke's test functions for planar scattered data (with exact derivatives)
# ---------------------------------------------------------------------------------------

class TestFunction:
    """A scalar test function of the plane with its exact gradient and Hessian.

    Call it on points of shape (n, 2) (or a single point of shape (2,)):
    ``f(p)`` → (n,), ``f.gradient(p)`` → (n, 2), ``f.hessian(p)`` → (n, 2, 2).
    """

    __test__ = False                     # not a pytest test class

    def __init__(self, name, value, gradient, hessian, doc=""):
        self.name = name
        self._value, self._gradient, self._hessian = value, gradient, hessian
        self.__doc__ = doc

    @staticmethod
    def _xy(points):
        p = np.asarray(points, dtype=np.float64)
        p2 = np.atleast_2d(p)
        if p2.ndim != 2 or p2.shape[1] != 2:
            raise ValueError(f"`points` must have shape (n, 2); got {p.shape}")
        return p2[:, 0], p2[:, 1], p.ndim == 1

    def __call__(self, points):
        x, y, single = self._xy(points)
        v = self._value(x, y)
        return v[0] if single else v

    def gradient(self, points):
        x, y, single = self._xy(points)
        g = np.stack(self._gradient(x, y), axis=-1)
        return g[0] if single else g

    def hessian(self, points):
        x, y, single = self._xy(points)
        fxx, fxy, fyy = self._hessian(x, y)
        h = np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2)
        return h[0] if single else h

    def laplacian(self, points):
        h = self.hessian(points)
        return h[..., 0, 0] + h[..., 1, 1]

    def __repr__(self):
        return f"TestFunction({self.name!r})"


def _gauss_sum(terms):
    """Σ c·exp(−Q) with Q quadratic: terms of (c, Q, ∇Q, diag ∇²Q) as functions of x, y."""
    def value(x, y):
        return sum(c * np.exp(-Q(x, y)) for c, Q, _, _ in terms)

    def gradient(x, y):
        gx = sum(-c * np.exp(-Q(x, y)) * dQ(x, y)[0] for c, Q, dQ, _ in terms)
        gy = sum(-c * np.exp(-Q(x, y)) * dQ(x, y)[1] for c, Q, dQ, _ in terms)
        return gx, gy

    def hessian(x, y):
        hxx = hxy = hyy = 0.0
        for c, Q, dQ, hQ in terms:
            e = c * np.exp(-Q(x, y))
            qx, qy = dQ(x, y)
            hxx = hxx + e * (qx * qx - hQ[0])
            hxy = hxy + e * (qx * qy)
            hyy = hyy + e * (qy * qy - hQ[1])
        return hxx, hxy, hyy

    return value, gradient, hessian


def _bump(scale):
    """exp(−scale·((x−.5)² + (y−.5)²)) / 3."""
    return _gauss_sum([(1 / 3, lambda x, y: scale * ((x - .5) ** 2 + (y - .5) ** 2),
                        lambda x, y: (2 * scale * (x - .5), 2 * scale * (y - .5)),
                        (2 * scale, 2 * scale))])


def _saddle():
    def parts(x, y):
        N = 1.25 + np.cos(5.4 * y)
        D = 6 + 6 * (3 * x - 1) ** 2
        return N, D, -5.4 * np.sin(5.4 * y), -5.4 ** 2 * np.cos(5.4 * y), 36 * (3 * x - 1), 108.0

    def value(x, y):
        N, D, *_ = parts(x, y)
        return N / D

    def gradient(x, y):
        N, D, Ny, _, Dx, _ = parts(x, y)
        return -N * Dx / D ** 2, Ny / D

    def hessian(x, y):
        N, D, Ny, Nyy, Dx, Dxx = parts(x, y)
        return -N * (Dxx / D ** 2 - 2 * Dx ** 2 / D ** 3), -Ny * Dx / D ** 2, Nyy / D

    return value, gradient, hessian


def _cliff():
    def value(x, y):
        return (np.tanh(9 * y - 9 * x) + 1) / 9

    def gradient(x, y):
        s2 = 1 - np.tanh(9 * y - 9 * x) ** 2
        return -s2, s2

    def hessian(x, y):
        t = np.tanh(9 * y - 9 * x)
        c = -18 * t * (1 - t ** 2)                # d/du of sech²(u), times 9·9/9
        return c, -c, c

    return value, gradient, hessian


def _sphere():
    def S(x, y):
        return 64 - 81 * ((x - .5) ** 2 + (y - .5) ** 2)

    def value(x, y):
        return np.sqrt(S(x, y)) / 9 - .5

    def gradient(x, y):
        r = np.sqrt(S(x, y))
        return -162 * (x - .5) / (18 * r), -162 * (y - .5) / (18 * r)

    def hessian(x, y):
        s = S(x, y)
        r = np.sqrt(s)
        sx, sy = -162 * (x - .5), -162 * (y - .5)
        return (-162 / (18 * r) - sx * sx / (36 * s * r), -sx * sy / (36 * s * r),
                -162 / (18 * r) - sy * sy / (36 * s * r))

    return value, gradient, hessian


_EXPONENTIAL = _gauss_sum([
    (0.75, lambda x, y: ((9 * x - 2) ** 2 + (9 * y - 2) ** 2) / 4,
     lambda x, y: (4.5 * (9 * x - 2), 4.5 * (9 * y - 2)), (40.5, 40.5)),
    (0.75, lambda x, y: (9 * x + 1) ** 2 / 49 + (9 * y + 1) / 10,
     lambda x, y: (18 * (9 * x + 1) / 49, 0.9 + 0 * y), (162 / 49, 0.0)),
    (0.5, lambda x, y: ((9 * x - 7) ** 2 + (9 * y - 3) ** 2) / 4,
     lambda x, y: (4.5 * (9 * x - 7), 4.5 * (9 * y - 3)), (40.5, 40.5)),
    (-0.2, lambda x, y: (9 * x - 4) ** 2 + (9 * y - 7) ** 2,
     lambda x, y: (18 * (9 * x - 4), 18 * (9 * y - 7)), (162.0, 162.0)),
])

#: Franke's six classic test functions on [0, 1]² (Franke 1979/1982; the formulas of
#: akima's ``franke.data``), numbered as there: 1 exponential, 2 cliff, 3 saddle,
#: 4 gentle, 5 steep, 6 sphere.
FRANKE = {
    1: TestFunction("exponential", *_EXPONENTIAL,
                    doc="F1 = .75 e^{-((9x-2)²+(9y-2)²)/4} + .75 e^{-(9x+1)²/49-(9y+1)/10} "
                        "+ .5 e^{-((9x-7)²+(9y-3)²)/4} - .2 e^{-(9x-4)²-(9y-7)²}"),
    2: TestFunction("cliff", *_cliff(), doc="F2 = (tanh(9y - 9x) + 1) / 9"),
    3: TestFunction("saddle", *_saddle(), doc="F3 = (1.25 + cos(5.4y)) / (6 + 6(3x - 1)²)"),
    4: TestFunction("gentle", *_bump(81 / 16), doc="F4 = exp(-81/16((x-.5)²+(y-.5)²)) / 3"),
    5: TestFunction("steep", *_bump(81 / 4), doc="F5 = exp(-81/4((x-.5)²+(y-.5)²)) / 3"),
    6: TestFunction("sphere", *_sphere(), doc="F6 = sqrt(64 - 81((x-.5)²+(y-.5)²)) / 9 - .5"),
}

#: The three functions of seed 001 (Turner, Belward & Oqielat, §5), as written there:
#: its F1 is Franke's saddle (1.25 + cos 5.4y)/(6(1 + (3x−1)²)), its F2 the gentle
#: bump, its F3 the sphere.
SEED001 = {"F1": FRANKE[3], "F2": FRANKE[4], "F3": FRANKE[6]}


def franke(i):
    """Franke's test function ``i`` (1–6, or a name such as ``"saddle"``) as a
    :class:`TestFunction`."""
    for key, fn in FRANKE.items():
        if i == key or i == fn.name:
            return fn
    names = ", ".join(f"{k} ({f.name})" for k, f in FRANKE.items())
    raise ValueError(f"`i` must be one of {names}; got {i!r}")


def franke_nodes(which="133"):
    """Franke's scattered nodes in and around [0, 1]² (see ``o3d_meshless/data/FRANKE.txt``).

    ``which``: ``"ds1"`` (100 nodes), ``"ds2"`` (33 nodes) or ``"133"`` (both, ds1 first,
    the set of seed 001 §5.2). Returns an array of shape (n, 2).
    """
    from importlib.resources import files

    sets = {"ds1": ["franke_ds1.csv"], "ds2": ["franke_ds2.csv"],
            "133": ["franke_ds1.csv", "franke_ds2.csv"]}
    if which not in sets:
        raise ValueError(f"`which` must be one of 'ds1', 'ds2', '133'; got {which!r}")
    data = files("o3d_meshless.data")
    return np.vstack([np.loadtxt(data.joinpath(f).open("r"), delimiter=",", skiprows=1)
                      for f in sets[which]])


def _partial(func, points, alpha, step):
    """Tensor-product central difference of ``func`` for the multi-index ``alpha``."""
    from math import comb

    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    out = np.zeros(len(pts))
    grids = [[((a / 2 - j) * step, (-1) ** j * comb(a, j)) for j in range(a + 1)] for a in alpha]
    import itertools
    for combo in itertools.product(*grids):
        shift = np.array([c[0] for c in combo])
        coef = np.prod([c[1] for c in combo])
        out += coef * func(pts + shift)
    return out / step ** sum(alpha)


def derivative_max(func, points, degree, *, step=None):
    """``max over points, over |α| = degree`` of ``|D^α f|``, by central differences.

    ``func`` maps points (m, d) to values (m,). ``step`` defaults to
    ``2e-3 · (1 + degree)`` (functions varying on a scale of order 1, like Franke's): the
    differences are second-order accurate, to well under a per cent on Franke's functions.
    """
    from .stencils.taylor import monomials

    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    dim = pts.shape[1]
    step = 2e-3 * (1 + degree) if step is None else float(step)
    alphas = [m for m in monomials(degree, dim) if sum(m) == degree]
    return float(max(np.abs(_partial(func, pts, a, step)).max() for a in alphas))


def lipschitz_estimate(func, center, order, *, offsets=None, radius=None, n_samples=400,
                       seed=0, step=None):
    """Seed 001's ϑ_max for a Taylor order ``n`` at ``center``.

    Lemma 3.1 uses the Lipschitz continuity of the n-th partial derivatives only along
    the segments from the centre ``a`` to its neighbours ``a + h_i ν_i``; by the
    mean-value theorem ``√d · max |∂^{n+1} f|`` over those segments is such a constant
    (the seed's §5 formula, √2 in 2-D). The maximum is taken over ``n_samples`` points:

    * ``offsets`` (k, d): evenly along the k segments ``a + t·offset``, ``t ∈ [0, 1]``;
    * ``radius``: uniformly at random in the ball of that radius about ``a`` (an upper
      estimate for the segments; the function must be defined on the whole ball).

    The (n+1)-th derivatives come from central differences (:func:`derivative_max`).
    """
    c = np.asarray(center, dtype=np.float64).ravel()
    dim = len(c)
    if (offsets is None) == (radius is None):
        raise ValueError("pass exactly one of `offsets` and `radius`")
    if offsets is not None:
        off = np.asarray(offsets, dtype=np.float64).reshape(-1, dim)
        t = np.linspace(0, 1, max(2, n_samples // len(off)))
        pts = (c + t[:, None, None] * off[None]).reshape(-1, dim)
    else:
        rng = np.random.default_rng(seed)
        u = rng.normal(size=(n_samples, dim))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = radius * rng.uniform(0, 1, n_samples) ** (1 / dim)
        pts = np.vstack([c, c + r[:, None] * u])
    return float(np.sqrt(dim) * derivative_max(func, pts, order + 1, step=step))


# ---------------------------------------------------------------------------------------
# Seed 003 §4.4: Poisson problems on a disc and a flower with an outer layer of nodes
# ---------------------------------------------------------------------------------------

def _annulus_radii(rng, n, r_in, r_out):
    """Radii of ``n`` area-uniform points in the annulus ``r_in < r ≤ r_out``."""
    u = 1.0 - rng.uniform(0.0, 1.0, n)                # (0, 1]: r_in excluded
    return np.sqrt(r_in ** 2 + u * (r_out ** 2 - r_in ** 2))


def disc_domain(n_interior=3159, n_boundary=1841, *, radius=2.0, outer=2.5, seed=0):
    """Random samples of seed 003 §4.4's disc problem and its outer layer of nodes.

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
    """Seed 003 §4.4's flower boundary ``r_max(θ) = 1.4 + 0.4 sin 5θ + 0.4 sin 2θ``."""
    theta = np.asarray(theta, dtype=np.float64)
    return 1.4 + 0.4 * np.sin(5 * theta) + 0.4 * np.sin(2 * theta)


def flower_domain(sampling="uniform", *, spacing=0.05, n_interior=2782, n_boundary=2782,
                  band=0.5, seed=0):
    """Samples of seed 003 §4.4's flower ``r ≤ r_max(θ)`` and its outer band of nodes.

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
    doc="Seed 003 §4.4's exact solution ``u = 1 + sin 4x + cos 3x + sin 2y``; "
        "``poisson_exact.laplacian(p)`` is the right-hand side ``f = Δu``.")
