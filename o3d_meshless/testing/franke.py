"""Franke's test functions for planar scattered data, with exact derivatives, and the
node sets and Lipschitz estimates of Turner, Belward & Oqielat's experiments."""
from __future__ import annotations

import numpy as np

__all__ = ["TestFunction", "FRANKE", "SEED001", "franke", "franke_nodes", "derivative_max",
           "lipschitz_estimate"]


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

#: The three functions of Turner et al. (Turner, Belward & Oqielat, §5), as written there:
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
    the set of Turner et al. §5.2). Returns an array of shape (n, 2).
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
    from ..sampling.monomials import monomials

    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    dim = pts.shape[1]
    step = 2e-3 * (1 + degree) if step is None else float(step)
    alphas = [m for m in monomials(degree, dim) if sum(m) == degree]
    return float(max(np.abs(_partial(func, pts, a, step)).max() for a in alphas))


def lipschitz_estimate(func, center, order, *, offsets=None, radius=None, n_samples=400,
                       seed=0, step=None):
    """Turner et al.'s ϑ_max for a Taylor order ``n`` at ``center``.

    Lemma 3.1 uses the Lipschitz continuity of the n-th partial derivatives only along
    the segments from the centre ``a`` to its neighbours ``a + h_i ν_i``; by the
    mean-value theorem ``√d · max |∂^{n+1} f|`` over those segments is such a constant
    (the paper's §5 formula, √2 in 2-D). The maximum is taken over ``n_samples`` points:

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
