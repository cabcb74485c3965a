"""Compiled kernels against slow, obvious NumPy references of the same formulas.

* Taylor stencils (seed 001): weights ``pinv(W A) W`` on ``(f_j - f_0) / h_j``, the
  diagnostics ``rcond``, ``sigma_min_A`` (σ₁ of ``W A``) and ``sigma_min_A21`` (σ̂₁ after
  the Householder reduction of the non-gradient columns), polynomial exactness and
  Proposition 4.1(ii) ``σ₁ ≤ σ̂₁``.
* Frames: PCA + height-fit normal against a NumPy re-implementation, accuracy and
  convergence rates on a sphere and a torus, planar clouds.
* Lumped areas: regular grid, sphere total, scipy's Voronoi diagram.
* ``stencil_weights`` input handling and thread-count independence.
"""
from math import factorial

import numpy as np
import pytest
from scipy.spatial import ConvexHull, Voronoi

import o3d_meshless as om
from o3d_meshless.operators import assembly
from o3d_meshless.sampling.frames import pca_frames
from o3d_meshless.sampling.neighbors import knn
from o3d_meshless.stencils.taylor import monomials, taylor_weights

EPS = np.finfo(float).eps
ORDERS = (1, 2, 3, 4)
DIMS = (2, 3)
WEIGHTS = (None, 0, 1, 2, 3, 4)
K_FACTORS = (1.0, 1.5, 3.0)        # k = ceil(factor * p): square, modest, generous


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------

def taylor_rows(coords, order):
    """Plain Taylor rows ``x^alpha / alpha!`` (k, p) in the kernel's monomial order."""
    ms = monomials(order, coords.shape[1])
    return np.array([[np.prod([x[a] ** m[a] / factorial(m[a]) for a in range(len(m))])
                      for m in ms] for x in coords])


def seed_WA(coords, dist, order, weights):
    """Seed 001's ``W A``: rows ``x^alpha/alpha!/h_j`` times ``W = h_j^-d`` (d = -1 for None)."""
    d = -1.0 if weights is None else float(weights)
    W = dist ** -d
    return (W / dist)[:, None] * taylor_rows(coords, order), W


def reference_weights(coords, dist, order, weights):
    """(p, k) weights on ``f_j - f_0``: ``pinv(W A) W`` applied to ``q_j = (f_j - f_0) / h_j``.

    ``pinv(W A) = C⁻¹ pinv(W A C⁻¹)`` for a full-column-rank ``W A`` and the diagonal
    column scaling ``C = diag(rho^|alpha|)``; the scaled form keeps numpy's SVD cut-off
    from discarding the high-degree columns of small stencils.
    """
    WA, W = seed_WA(coords, dist, order, weights)
    deg = np.array([sum(m) for m in monomials(order, coords.shape[1])], dtype=float)
    C = dist.max() ** deg
    return (np.linalg.pinv(WA / C) / C[:, None]) * (W / dist)[None, :]


def reference_diagnostics(coords, dist, order, weights):
    """(rcond, sigma_min_A, sigma_min_A21) computed with numpy SVD / QR."""
    d_ = -1.0 if weights is None else float(weights)
    rho = dist.max()
    unit = ((dist / rho) ** -(1.0 + d_))[:, None] * taylor_rows(coords / rho, order)
    s_unit = np.linalg.svd(unit, compute_uv=False)
    WA, _ = seed_WA(coords, dist, order, weights)
    sigma_A = np.linalg.svd(WA, compute_uv=False)[-1]
    dim = coords.shape[1]
    p2 = WA.shape[1] - dim
    if p2 == 0:                      # order 1: no columns to eliminate, A21 = A
        sigma_A21 = sigma_A
    else:
        Q, _ = np.linalg.qr(WA[:, dim:], mode="complete")
        A21 = (Q.T @ WA[:, :dim])[p2:]
        sigma_A21 = np.linalg.svd(A21, compute_uv=False)[-1]
    return s_unit[-1] / s_unit[0], sigma_A, sigma_A21


def normal_equations_rtol(rcond):
    """rcond comes from the eigenvalues of AᵀA: relative error up to ~eps·κ²."""
    return max(1e-9, 20 * EPS / rcond ** 2)


def scattered_offsets(k, dim, order, weights, seed):
    """k offsets in a ball of random radius; redrawn until the design is usable.

    Designs with rcond < 1e-5 are redrawn: the guard refuses rcond < 1e-6 anyway, and
    below that the normal equations carry no digits worth comparing.
    """
    rng = np.random.default_rng(seed)
    for _ in range(50):
        scale = 10.0 ** rng.uniform(-3, 1)
        x = rng.normal(size=(k, dim))
        x *= (rng.uniform(0.15, 1, k) / np.linalg.norm(x, axis=1))[:, None]
        x *= scale
        rc = reference_diagnostics(x, np.linalg.norm(x, axis=1), order, weights)[0]
        if rc >= 1e-5:
            return x
    raise AssertionError("could not draw a usable stencil")


def stencil_case(order, dim, weights, kf):
    p = len(monomials(order, dim))
    k = int(np.ceil(kf * p))
    seed = hash((order, dim, -9 if weights is None else weights, kf)) % 2**32
    return scattered_offsets(k, dim, order, weights, seed)


def as_matrix(sw, order, dim):
    return np.stack([sw[m] for m in monomials(order, dim)])


CASES = [(o, d, w, kf) for o in ORDERS for d in DIMS for w in WEIGHTS for kf in K_FACTORS]
CASE_IDS = [f"o{o}-d{d}-w{w}-k{kf}" for o, d, w, kf in CASES]


# ---------------------------------------------------------------------------
# Taylor stencils
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("order,dim,weights,kf", CASES, ids=CASE_IDS)
def test_taylor_weights_equal_pinv_reference(order, dim, weights, kf):
    off = stencil_case(order, dim, weights, kf)
    dist = np.linalg.norm(off, axis=1)
    sw = om.stencil_weights(off, order=order, weights=weights)
    got = as_matrix(sw, order, dim)
    ref = reference_weights(off, dist, order, weights)
    rc = reference_diagnostics(off, dist, order, weights)[0]
    for q, m in enumerate(monomials(order, dim)):       # each derivative on its own scale
        np.testing.assert_allclose(got[q], ref[q], rtol=0, atol=1e-9 * np.abs(ref[q]).max(),
                                   err_msg=f"weights of D^{m} (rcond {rc:.2e})")


@pytest.mark.parametrize("order,dim,weights,kf", CASES, ids=CASE_IDS)
def test_taylor_diagnostics_match_numpy(order, dim, weights, kf):
    off = stencil_case(order, dim, weights, kf)
    dist = np.linalg.norm(off, axis=1)
    diag = om.stencil_weights(off, order=order, weights=weights).diagnostics
    rc, sA, sA21 = reference_diagnostics(off, dist, order, weights)
    # σ_min from the eigenvalues of AᵀA: relative error ~ eps/rcond²
    np.testing.assert_allclose(diag["rcond"], rc, rtol=normal_equations_rtol(rc),
                               err_msg="rcond = σ_min/σ_max of the unit-scaled weighted design")
    np.testing.assert_allclose(diag["sigma_min_A"], sA, rtol=1e-9,
                               err_msg="sigma_min_A = σ₁ of seed 001's W A (real units)")
    np.testing.assert_allclose(diag["sigma_min_A21"], sA21, rtol=1e-9,
                               err_msg="sigma_min_A21 = σ̂₁ of Q₂ᵀ (W A)₁")
    assert diag["rank"] == len(monomials(order, dim))
    np.testing.assert_allclose(diag["h_max"], dist.max(), rtol=1e-15, err_msg="h_max")
    # Proposition 4.1(ii): Bound2 is never looser than Bound1
    assert diag["sigma_min_A"] <= diag["sigma_min_A21"] * (1 + 1e-12), diag


def poly_value_and_derivative(coefs, exps, x, alpha):
    """f(x) = Σ c_e x^e and D^alpha f(x) for a 1-D point x."""
    val = sum(c * np.prod(x ** np.array(e)) for c, e in zip(coefs, exps))
    der = 0.0
    for c, e in zip(coefs, exps):
        if all(ei >= ai for ei, ai in zip(e, alpha)):
            der += c * np.prod([factorial(ei) // factorial(ei - ai) * x[a] ** (ei - ai)
                                for a, (ei, ai) in enumerate(zip(e, alpha))])
    return val, der


@pytest.mark.parametrize("order,dim,weights,kf", CASES, ids=CASE_IDS)
def test_taylor_polynomial_exactness(order, dim, weights, kf):
    """Every polynomial of degree ≤ order is differentiated exactly, at any centre."""
    off = stencil_case(order, dim, weights, kf)
    rng = np.random.default_rng(7)
    centre = rng.uniform(-1, 1, dim)
    exps = [(0,) * dim] + list(monomials(order, dim))
    coefs = rng.uniform(-1, 1, len(exps))
    f0, _ = poly_value_and_derivative(coefs, exps, centre, (0,) * dim)
    df = np.array([poly_value_and_derivative(coefs, exps, centre + o, (0,) * dim)[0] - f0
                   for o in off])
    sw = om.stencil_weights(off, order=order, weights=weights)
    # the weights (p × k) times the Taylor rows are the identity
    I = as_matrix(sw, order, dim) @ taylor_rows(off, order)
    deg = np.array([sum(m) for m in monomials(order, dim)])
    scale = np.linalg.norm(off, axis=1).max() ** (deg[:, None] - deg[None, :])
    np.testing.assert_allclose(I * scale, np.eye(len(deg)), rtol=0, atol=1e-7,
                               err_msg="weights @ Taylor rows != identity")
    for m in monomials(order, dim):
        _, exact = poly_value_and_derivative(coefs, exps, centre, m)
        got = sw[m] @ df
        size = max(1.0, np.abs(sw[m]).sum() * np.abs(df).max())
        np.testing.assert_allclose(got, exact, rtol=0, atol=1e-9 * size,
                                   err_msg=f"D^{m} of a degree-{order} polynomial")


def test_taylor_rank_deficient_design_is_flagged():
    """Collinear offsets (rank 1 for a 2-D gradient) are reported with rcond 0."""
    t = np.linspace(0.1, 1, 8)
    diag = om.stencil_weights(np.c_[t, 2 * t], order=1).diagnostics
    assert diag["rcond"] < 1e-12 and diag["rank"] == 1, diag


def test_taylor_rank_of_exactly_deficient_design():
    # On a circle x(x²+y²) = x and y(x²+y²) = y: the cubic design has rank 7, not 9.
    th = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    off = np.c_[np.cos(th), np.sin(th)]
    assert np.linalg.matrix_rank(taylor_rows(off, 3)) == 7
    diag = om.stencil_weights(off, order=3).diagnostics
    assert diag["rank"] == 7, diag


def test_taylor_weights_more_targets_than_neighbours():
    rng = np.random.default_rng(0)
    pts = np.vstack([np.zeros((1, 2)), rng.uniform(-1, 1, (5, 2))])
    nbrs = np.arange(1, 6, dtype=np.intp)[None]
    ms = list(monomials(2, 2))                        # p = 5 = k
    ctr = np.zeros(1, dtype=np.intp)
    w1, _, _ = taylor_weights(pts, nbrs, ctr, None, order=2, targets=ms, weight_power=-1.0)
    w2, _, _ = taylor_weights(pts, nbrs, ctr, None, order=2, targets=ms + [(1, 0)] * 3,
                              weight_power=-1.0)
    np.testing.assert_allclose(w2[0, :, :5], w1[0], rtol=1e-12)
    np.testing.assert_allclose(w2[0, :, 5:], np.repeat(w1[0, :, :1], 3, axis=1), rtol=1e-12)


def test_taylor_kernel_on_a_cloud_with_tangent_bases(random_sphere):
    """The batch kernel with tangent bases = the reference on projected coordinates with
    ambient distances (the kernel's documented convention), for Laplacian combos."""
    p = random_sphere(1500, seed=4)
    nb = knn(p, 16)
    frames, _, _ = pca_frames(nb.points, nb.indices)
    bases = np.ascontiguousarray(frames[:, :2])
    lap = {(2, 0): 1.0, (0, 2): 1.0}
    rows = np.arange(0, 1500, 37, dtype=np.intp)
    for order in (2, 3):
        for weights in (None, 0, 2):
            wp = -1.0 if weights is None else float(weights)
            w, diag, status = taylor_weights(nb.points, nb.indices[rows], rows, bases,
                                             order=order, targets=[lap, (1, 0), (0, 1)],
                                             weight_power=wp, bounds=True, n_threads=1)
            assert (status == 0).all()
            ms = monomials(order, 2)
            for r, i in enumerate(rows):
                off = nb.points[nb.indices[i]] - nb.points[i]
                coords, dist = off @ bases[i].T, np.linalg.norm(off, axis=1)
                ref = reference_weights(coords, dist, order, weights)
                ref_lap = ref[ms.index((2, 0))] + ref[ms.index((0, 2))]
                rc, sA, sA21 = reference_diagnostics(coords, dist, order, weights)
                tol = normal_equations_rtol(rc)
                for got, want, name in ((w[r, :, 0], ref_lap, "Laplacian"),
                                        (w[r, :, 1], ref[0], "d/du"), (w[r, :, 2], ref[1], "d/dv")):
                    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(want).max(),
                                               err_msg=f"{name} weights, row {i}, order {order}")
                np.testing.assert_allclose(diag[r, :3], [rc, sA, sA21], rtol=max(tol, 1e-9),
                                           err_msg=f"diagnostics of row {i}")
                assert diag[r, 1] <= diag[r, 2] * (1 + 1e-12), "Bound2 must not exceed Bound1"


def test_taylor_kernel_threads_bitwise(random_sphere):
    p = random_sphere(3000, seed=5)
    nb = knn(p, 20)
    frames, _, _ = pca_frames(nb.points, nb.indices)
    bases = np.ascontiguousarray(frames[:, :2])
    rows = np.arange(3000, dtype=np.intp)
    lap = {(2, 0): 1.0, (0, 2): 1.0}
    out = [taylor_weights(nb.points, nb.indices, rows, bases, order=3, targets=[lap, (1, 0)],
                          weight_power=-1.0, bounds=True, n_threads=t) for t in (1, 2)]
    for a, b, name in zip(out[0], out[1], ("weights", "diagnostics", "status")):
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: 1 vs 2 threads")


# ---------------------------------------------------------------------------
# stencil_weights input handling
# ---------------------------------------------------------------------------

def _good_offsets():
    return np.random.default_rng(11).uniform(-1, 1, (12, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.float16])
def test_stencil_weights_promotes_dtype(dtype):
    rng = np.random.default_rng(12)
    off = (rng.uniform(-5, 5, (12, 2)) if np.issubdtype(dtype, np.floating)
           else rng.integers(-5, 6, (12, 2))).astype(dtype)
    off[np.linalg.norm(off.astype(float), axis=1) == 0] = 1
    got = om.stencil_weights(off, order=2)
    ref = om.stencil_weights(off.astype(np.float64), order=2)
    for m in monomials(2, 2):
        assert got[m].dtype == np.float64
        np.testing.assert_array_equal(got[m], ref[m], err_msg=f"{dtype.__name__} offsets, D^{m}")


@pytest.mark.parametrize("bad,what", [
    (lambda o: np.vstack([o, [[0.0, 0.0]]]), "zero row"),
    (lambda o: np.where(np.arange(o.size).reshape(o.shape) == 5, np.nan, o), "NaN"),
    (lambda o: np.where(np.arange(o.size).reshape(o.shape) == 5, np.inf, o), "inf"),
    (lambda o: o[:, :1], "one column"),
    (lambda o: np.c_[o, o], "four columns"),
    (lambda o: o.ravel(), "1-D"),
    (lambda o: o[None], "3-D"),
    (lambda o: o[:4], "k < p"),
    (lambda o: o[:0], "empty"),
    (lambda o: o.astype(complex), "complex"),
    (lambda o: o > 0, "bool"),
    (lambda o: o.astype(str), "strings"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_stencil_weights_bad_offsets_raise(bad, what):
    with pytest.raises(ValueError, match="`offsets`"):
        om.stencil_weights(bad(_good_offsets()), order=2)


def test_stencil_weights_k_less_than_p_message():
    off = _good_offsets()
    om.stencil_weights(off[:5], order=2)                  # k == p is fine
    with pytest.raises(ValueError, match=r"`offsets` must have at least 9 rows"):
        om.stencil_weights(off[:8], order=3)
    with pytest.raises(ValueError, match=r"`offsets` must have at least 9 rows for order 2 in 3-D"):
        om.stencil_weights(np.c_[off[:8], off[:8, 0]], order=2)


@pytest.mark.parametrize("kw,name", [
    (dict(order=0), "order"), (dict(order=5), "order"), (dict(order=2.0), "order"),
    (dict(method="rbf"), "method"), (dict(weights=5), "weights"), (dict(weights=-1), "weights"),
    (dict(weights=1.5), "weights"), (dict(weights=True), "weights"),
])
def test_stencil_weights_bad_options_raise(kw, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        om.stencil_weights(_good_offsets(), **kw)


def test_stencil_weights_does_not_mutate_and_apply_works():
    off = _good_offsets()
    before = off.copy()
    sw = om.stencil_weights(off, order=2)
    np.testing.assert_array_equal(off, before)
    f = lambda x: 1 + 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 0] * x[:, 1]
    d = sw.apply(f(off) - 1.0)
    np.testing.assert_allclose([d[(1, 0)], d[(0, 1)], d[(1, 1)], d[(2, 0)]], [2, -1, 0.5, 0],
                               atol=1e-10, err_msg="apply")
    assert len(sw) == 5 and set(sw) == set(monomials(2, 2))


# ---------------------------------------------------------------------------
# frames
# ---------------------------------------------------------------------------

def reference_frame(points, nbrs, i, height_order):
    """NumPy re-implementation of the frames kernel for point i: normal only (sign-free)."""
    P = points[np.r_[i, nbrs]]
    C = (P - P.mean(0)).T @ (P - P.mean(0))
    _, vecs = np.linalg.eigh(C)
    n, t1 = vecs[:, 0], vecs[:, 2]
    t2 = np.cross(n, t1)
    if height_order:
        off = points[nbrs] - points[i]
        coords = np.c_[off @ t1, off @ t2]
        # plain (unweighted) Taylor rows, as the kernel uses for the height fit
        w = reference_weights(coords, np.linalg.norm(off, axis=1), height_order, None)
        h = off @ n
        n = n - (w[0] @ h) * t1 - (w[1] @ h) * t2
        n /= np.linalg.norm(n)
    return n


@pytest.mark.parametrize("height_order", [0, 2, 3])
def test_frames_match_numpy_reference(random_sphere, height_order):
    p = random_sphere(1000, seed=6)
    nb = knn(p, 16)
    F, planarity, status = pca_frames(nb.points, nb.indices, height_order=height_order)
    assert (status == 0).all()
    np.testing.assert_allclose(np.einsum("nij,nkj->nik", F, F), np.broadcast_to(np.eye(3), F.shape),
                               atol=1e-12, err_msg="frames are not orthonormal")
    np.testing.assert_allclose(np.linalg.det(F), 1.0, atol=1e-12, err_msg="not right-handed")
    for i in range(0, 1000, 23):
        n = reference_frame(nb.points, nb.indices[i], i, height_order)
        np.testing.assert_allclose(abs(F[i, 2] @ n), 1.0, atol=1e-10,
                                   err_msg=f"normal of point {i}, height_order={height_order}")


def _normal_error(points, true_normals, height_order, k=16):
    nb = knn(points, k)
    F, _, status = pca_frames(nb.points, nb.indices, height_order=height_order)
    assert (status == 0).all()
    cos = np.abs(np.einsum("ij,ij->i", F[:, 2], true_normals))
    return np.median(np.sqrt(np.maximum(0.0, 1.0 - cos ** 2)))


@pytest.mark.parametrize("surface", ["sphere", "torus"])
def test_frames_height_fit_beats_pca_and_converges_faster(surface, random_sphere, torus):
    def sample(n):
        if surface == "sphere":
            p = random_sphere(n, seed=1)
            return p, p
        return torus(n, seed=1)

    errs = {}
    for n in (750, 3000):                 # h halves between the two sizes
        pts, nrm = sample(n)
        errs[n] = {ho: _normal_error(pts, nrm, ho) for ho in (0, 2)}
    rate = {ho: np.log2(errs[750][ho] / errs[3000][ho]) for ho in (0, 2)}
    msg = f"{surface}: median normal errors {errs}, rates {rate}"
    assert errs[3000][2] < errs[3000][0] / 10, msg
    assert 0.6 < rate[0] < 1.5, "PCA normals should be first order; " + msg
    assert rate[2] > 1.8, "corrected normals should be (at least) second order; " + msg


@pytest.mark.parametrize("scale", [1e-8, 1.0, 1e8])
def test_frames_eigen_solve_matches_numpy(scale):
    """The kernel's 3 x 3 eigen-solve (Jacobi rotations): ratios and normals as NumPy's
    eigh on neighbourhoods from isotropic to collinear, with repeated eigenvalues, at any
    scale."""
    rng = np.random.default_rng(11)
    spreads = [(1, 1, 1), (1, 1, 1e-3), (1, 0.3, 0.01), (1, 1e-2, 1e-2), (1, 1e-7, 1e-9),
               (1, 0.5, 0.5), (1, 1, 0)]
    blocks, centers = [], []
    for s in spreads:
        R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        blocks.append((rng.normal(size=(17, 3)) * s) @ R.T * scale + rng.normal(size=3))
    p = np.vstack(blocks)
    centers = np.arange(0, len(p), 17)
    nbrs = np.array([np.arange(c + 1, c + 17) for c in centers])
    F, planarity, status, flatness = pca_frames(p, nbrs, centers=centers, height_order=0,
                                                return_flatness=True)
    for r, c in enumerate(centers):
        q = p[c:c + 17] - p[c:c + 17].mean(0)
        ev, vec = np.linalg.eigh(q.T @ q)
        assert planarity[r] == pytest.approx(ev[1] / ev[2], rel=1e-9, abs=1e-15)
        if status[r] == 0:
            assert flatness[r] == pytest.approx(ev[0] / ev[1], rel=1e-8, abs=1e-14)
            if ev[1] - ev[0] > 1e-6 * ev[2]:            # the normal is defined
                assert abs(F[r, 2] @ vec[:, 0]) == pytest.approx(1.0, abs=1e-10)
        np.testing.assert_allclose(F[r] @ F[r].T, np.eye(3), atol=1e-12)
    assert status.tolist() == [0, 0, 0, 0, 1, 0, 0]     # (1, 1e-7, 1e-9): collinear


@pytest.mark.parametrize("height_order", [0, 2, 3])
def test_frames_of_planar_cloud(planar_grid, height_order):
    g = planar_grid(30, 40, h=0.1, z=0.7)
    g[:, :2] += np.random.default_rng(0).uniform(-0.03, 0.03, (len(g), 2))   # irregular
    nb = knn(g, 16)
    F, planarity, status = pca_frames(nb.points, nb.indices, height_order=height_order)
    assert (status == 0).all()
    np.testing.assert_allclose(np.abs(F[:, 2]), np.tile([0.0, 0.0, 1.0], (len(g), 1)),
                               atol=1e-14, err_msg="normal of a planar cloud must be ±e_z")
    np.testing.assert_allclose(F[:, :2, 2], 0.0, atol=1e-14, err_msg="tangents must lie in the plane")
    # same for a rotated, shifted plane
    R = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    q = g @ R.T + [3.0, -2.0, 1.0]
    nb = knn(q, 16)
    F, _, _ = pca_frames(nb.points, nb.indices, height_order=height_order)
    np.testing.assert_allclose(np.abs(F[:, 2] @ R[:, 2]), 1.0, atol=1e-12,
                               err_msg="normal of a rotated plane")


def test_frames_threads_bitwise(random_sphere):
    p = random_sphere(3000, seed=8)
    nb = knn(p, 16)
    a = pca_frames(nb.points, nb.indices, height_order=2, n_threads=1)
    b = pca_frames(nb.points, nb.indices, height_order=2, n_threads=2)
    for x, y, name in zip(a, b, ("frames", "planarity", "status")):
        np.testing.assert_array_equal(x, y, err_msg=f"{name}: 1 vs 2 threads")


# ---------------------------------------------------------------------------
# lumped (tangent-plane Voronoi) areas
# ---------------------------------------------------------------------------

def test_areas_regular_grid_interior_equal_h2(planar_grid):
    h = 0.1
    g = planar_grid(30, h=h)
    nb = knn(g, 16)
    F, _, _ = pca_frames(nb.points, nb.indices)
    areas, n_open = assembly.lumped_areas(nb, F)
    i, j = np.arange(900) % 30, np.arange(900) // 30
    interior = (i >= 3) & (i < 27) & (j >= 3) & (j < 27)
    np.testing.assert_allclose(areas[interior], h * h, rtol=1e-12, err_msg="interior cells")
    assert n_open > 0 and (areas[~interior] >= h * h * (1 - 1e-12)).all()
    assert np.isfinite(areas).all()


@pytest.mark.parametrize("kind", ["fibonacci", "random"])
def test_areas_sum_to_sphere_area(kind, fibonacci_sphere, random_sphere):
    p = fibonacci_sphere(2000) if kind == "fibonacci" else random_sphere(2000, seed=2)
    nb = knn(p, 16)
    F, _, _ = pca_frames(nb.points, nb.indices)
    areas, n_open = assembly.lumped_areas(nb, F)
    assert n_open == 0 and (areas > 0).all()
    np.testing.assert_allclose(areas.sum(), 4 * np.pi, rtol=5e-3, err_msg="total area of S²")


def test_areas_against_scipy_voronoi():
    """Random planar points: the cell is the Voronoi cell whenever all its Voronoi
    neighbours are among the k nearest, and never smaller otherwise."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1, (2000, 2))
    nb = knn(np.c_[xy, np.zeros(2000)], 16)
    F, _, _ = pca_frames(nb.points, nb.indices)
    areas, _ = assembly.lumped_areas(nb, F)
    vor = Voronoi(xy)
    ref = np.full(2000, np.nan)
    for i in range(2000):
        reg = vor.regions[vor.point_region[i]]
        if -1 in reg or not reg:
            continue
        v = vor.vertices[reg]
        if (v > 0.1).all() and (v < 0.9).all():
            ref[i] = ConvexHull(v).volume
    m = np.isfinite(ref)
    assert m.sum() > 1000
    assert (areas[m] >= ref[m] * (1 - 1e-12)).all(), "a cell smaller than its Voronoi cell"
    match = np.isclose(areas[m], ref[m], rtol=1e-10)
    assert match.mean() > 0.97, f"only {match.mean():.3f} of the cells equal scipy's Voronoi cells"


def test_areas_threads_bitwise(random_sphere):
    p = random_sphere(3000, seed=9)
    nb = knn(p, 16)
    F, _, _ = pca_frames(nb.points, nb.indices)
    a1, o1 = assembly.lumped_areas(nb, F, n_threads=1)
    a2, o2 = assembly.lumped_areas(nb, F, n_threads=2)
    np.testing.assert_array_equal(a1, a2, err_msg="areas: 1 vs 2 threads")
    assert o1 == o2


@pytest.mark.parametrize("method", ["taylor", "moments", "orthopoly"])
def test_kernel_wrappers_reject_out_of_range_indices_and_bad_bases(method):
    """The wrappers are public: bad indices must raise before the nogil kernels run."""
    from o3d_meshless.stencils import METHODS

    kernel = METHODS[method].kernel
    pts = np.random.default_rng(0).normal(size=(20, 2))
    centre = np.zeros(1, dtype=np.intp)
    good = np.arange(1, 10, dtype=np.intp)[None, :]
    for nbrs, match in ((good + 90, "`neighbors` must index"), (good - 2, "`neighbors` must index")):
        with pytest.raises(ValueError, match=match):
            kernel(pts, nbrs, centre, None, order=2, targets=[(1, 0)], weight_power=-1.0)
    with pytest.raises(ValueError, match="`centers` must index"):
        kernel(pts, good, centre + 20, None, order=2, targets=[(1, 0)], weight_power=-1.0)
    with pytest.raises(ValueError, match="`bases` must have shape"):
        kernel(pts, good, centre, np.zeros((5, 2, 2)), order=2, targets=[(1, 0)],
               weight_power=-1.0)


def test_pca_frames_rejects_out_of_range_neighbours():
    pts = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="`neighbors` must index"):
        pca_frames(pts, np.full((20, 5), 20, dtype=np.intp))


def test_pca_frames_of_selected_centers_equal_those_of_all():
    p = np.random.default_rng(11).normal(size=(500, 3))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    nb = knn(p, 12)
    full = pca_frames(nb.points, nb.indices)
    rows = np.array([3, 77, 499, 0])
    sub = pca_frames(nb.points, np.ascontiguousarray(nb.indices[rows]), centers=rows)
    for a, b in zip(full, sub):
        np.testing.assert_array_equal(a[rows], b)
    with pytest.raises(ValueError, match="centers"):
        pca_frames(nb.points, np.ascontiguousarray(nb.indices[rows]), centers=rows + 500)


@pytest.mark.parametrize("reorder", [False, True])
def test_laplacian_matrix_assembles_ragged_rows_in_blocks(monkeypatch, reorder):
    """Rows of different lengths (empty ones too, inside and at the end of a block),
    blocks that cut between them, and a permutation to the input order: L has the
    centre first with the negated sum, then −w per neighbour."""
    from types import SimpleNamespace
    rng = np.random.default_rng(3)
    n = 23
    lengths = rng.integers(2, 6, size=n)
    lengths[[2, 4, 9]] = 0                      # blocks of 5 rows: 4 and 9 end a block
    indptr = np.r_[0, np.cumsum(lengths)]
    indices = np.concatenate([rng.choice(np.delete(np.arange(n), i), size=m, replace=False)
                              for i, m in enumerate(lengths)]).astype(np.int32)
    weights = rng.normal(size=(indptr[-1], 2))
    st = SimpleNamespace(indptr=indptr, indices=indices, weights=weights)
    dense = np.zeros((n, n))
    for i in range(n):
        cols, w = indices[indptr[i]:indptr[i + 1]], weights[indptr[i]:indptr[i + 1], 1]
        dense[i, i] = w.sum()
        dense[i, cols] = -w
    inverse = rng.permutation(n) if reorder else None
    monkeypatch.setattr(assembly, "LAPLACIAN_BLOCK_ROWS", 5)
    L = assembly.laplacian_matrix(st, target=1, inverse=inverse)
    if reorder:                      # unique point inverse[i] is input point i
        dense = dense[np.ix_(inverse, inverse)]
    np.testing.assert_allclose(L.toarray(), dense, rtol=0, atol=1e-14)
    assert L.indices.dtype == np.int32 and L.indptr.dtype == np.int32
    for i in range(n):               # the centre comes first in every row
        assert L.indices[L.indptr[i]] == i
