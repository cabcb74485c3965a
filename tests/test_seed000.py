"""Seed 000: moment-coefficient stencils (method="moments") and the field API."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.stencils.moments import laplacian_target, moments_weights

ROOT = Path(__file__).resolve().parents[1]


def _unit(d, c):
    return tuple(int(a == c) for a in range(d))


def _seed_recipe(B):
    """The seed answer's NumPy recipe, verbatim (np.linalg.pinv defaults)."""
    k = len(B)
    G = B @ B.T
    F = G * G
    v = np.diag(G)
    N = np.eye(k) - np.linalg.pinv(G) @ G
    return N @ np.linalg.pinv(F @ N) @ v


def _example():
    spec = importlib.util.spec_from_file_location("seed000_moments",
                                                  ROOT / "examples" / "seed000_moments.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- the method is the seed's recipe -------------------------------------------------
@pytest.mark.parametrize("d,k", [(2, 6), (2, 12), (3, 10), (3, 32)])
def test_kernel_equals_seed_recipe(d, k):
    rng = np.random.default_rng(d * 100 + k)
    B = rng.uniform(-1, 1, (k, d)) * 0.03
    a = _seed_recipe(B)
    w = om.stencil_weights(B, method="moments")
    for c in range(d):
        ref = a * B[:, c]
        np.testing.assert_allclose(w[_unit(d, c)], ref, rtol=0, atol=1e-10 * np.abs(ref).max())
    np.testing.assert_allclose(w["laplacian"], 2 * a, rtol=0, atol=1e-10 * np.abs(a).max())
    assert w.diagnostics["rank"] == d * (d + 3) // 2
    # the seed's defining properties: Σ a b = 0, Σ a b bᵀ = I
    np.testing.assert_allclose(a @ B, 0, atol=1e-9 * np.abs(a).max() * 0.03)
    np.testing.assert_allclose((a[:, None, None] * B[:, :, None] * B[:, None, :]).sum(0),
                               np.eye(d), atol=1e-10)


# -- tests that pin down what the method is -----------------------------------------------
@pytest.mark.parametrize("d", [2, 3])
@pytest.mark.parametrize("k", [None, 40])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_laplacian_is_unweighted_quadratic_least_squares(d, k, scale):
    rng = np.random.default_rng(7 + d)
    k = k or d * (d + 3) // 2 + 3
    for _ in range(5):
        off = rng.normal(size=(k, d)) * scale * rng.uniform(0.2, 1, (k, 1))
        wm = om.stencil_weights(off, method="moments")["laplacian"]
        wt = om.stencil_weights(off, method="taylor", order=2)
        lap = sum(wt[m] for m in laplacian_target(d))
        assert np.abs(wm - lap).max() <= 1e-12 * np.abs(lap).max()


def _gradient_errors(method, order, d, hs, rng):
    base = rng.uniform(-1, 1, (30, d))
    x0 = np.full(d, 0.3)
    c = np.arange(1, d + 1) / d

    def f(x):
        return np.exp(x @ c) + np.sin(x[..., 0])

    def grad(x):
        return np.exp(x @ c) * c + np.r_[np.cos(x[0]), np.zeros(d - 1)]

    errs = []
    for h in hs:
        off = h * base
        w = om.stencil_weights(off, method=method, order=order)
        df = f(x0 + off) - f(x0)
        g = np.array([w[_unit(d, a)] @ df for a in range(d)])
        errs.append(np.linalg.norm(g - grad(x0)))
    return np.array(errs)


@pytest.mark.parametrize("d", [2, 3])
def test_gradient_is_first_order(d):
    rng = np.random.default_rng(11 + d)
    hs = 0.1 * 2.0 ** -np.arange(5)
    em = _gradient_errors("moments", 2, d, hs, rng)
    rate = np.polyfit(np.log(hs), np.log(em), 1)[0]
    assert 0.85 < rate < 1.15, (rate, em)
    # Taylor order 3 for comparison: third order (what the docs recommend for gradients)
    et = _gradient_errors("taylor", 3, d, hs, np.random.default_rng(11 + d))
    rate3 = np.polyfit(np.log(hs), np.log(et), 1)[0]
    assert rate3 > 2.7 and et[-1] < 1e-3 * em[-1]


@pytest.mark.parametrize("d", [2, 3])
def test_exact_on_linear_gradient_and_quadratic_laplacian(d):
    rng = np.random.default_rng(3)
    off = rng.uniform(-0.1, 0.1, (20, d))
    A = rng.normal(size=(d, d))
    g0 = rng.normal(size=d)
    H = A + A.T
    df = off @ g0 + 0.5 * np.einsum("ki,ij,kj->k", off, H, off)
    w = om.stencil_weights(off, method="moments")
    assert abs(w["laplacian"] @ df - np.trace(H)) < 1e-9
    dl = off @ g0
    np.testing.assert_allclose([w[_unit(d, a)] @ dl for a in range(d)], g0, atol=1e-11)


# -- reproduce the seed's experiment ---------------------------------------------------
def test_seed_example_prints_the_answer_lines(capsys):
    _example().main(["--runs", "2", "--seed", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split(" = ")[0] for ln in lines[:6]] == ["Estimated Grad", "Analytical Grad",
                                                          "Relative Error"] * 2
    for ln in lines[2:6:3]:
        assert 0 < float(ln.split(" = ")[1]) < 0.05


def test_seed_error_distribution():
    """Relative gradient error at the cube centre: the answer's 'about 1 %' (its runs
    show 0.43 % and 0.56 %). Measured over 1000 runs: median 0.87 %, 10–90 % 0.39–1.63 %."""
    mod = _example()
    errs = mod.run(300, seed=2024, verbose=False)
    q10, q50, q90 = np.percentile(errs, [10, 50, 90])
    assert 0.006 < q50 < 0.012
    assert 0.002 < q10 < q50 < q90 < 0.025
    assert errs.max() < 0.06
    # the kernel's coefficients are the seed recipe's on this experiment
    rng = np.random.default_rng(5)
    point = 0.5 + rng.random(3) * 1e-3
    data = rng.random((10_000, 3))
    from scipy.spatial import cKDTree
    X = data[cKDTree(data).query(point, 32)[1]]
    a = _seed_recipe(X - point)
    w = om.stencil_weights(X - point, method="moments")
    np.testing.assert_allclose(w["laplacian"], 2 * a, rtol=1e-9, atol=1e-9 * np.abs(a).max())


# -- scattered and surface operators -----------------------------------------------------
@pytest.mark.parametrize("d", [2, 3])
def test_scattered_moments_laplacian_equals_taylor_order2(d):
    p = np.random.default_rng(d).uniform(size=(1500, d))
    k = d * (d + 3)
    om_ = om.ScatteredDerivatives(method="moments", k=k, guard=False).fit(p)
    ot = om.ScatteredDerivatives(order=2, k=k, guard=False).fit(p)
    assert abs(om_.L_ - ot.L_).max() <= 1e-11 * abs(ot.L_).max()
    assert om_.H_ is None and set(om_.D_) == {_unit(d, c) for c in range(d)}
    f = 1 + p @ np.arange(1, d + 1) + (p ** 2).sum(1)
    np.testing.assert_allclose(om_.laplacian(f), 2 * d, atol=1e-8)
    lin = p @ np.arange(1, d + 1)
    np.testing.assert_allclose(om_.gradient(lin), np.tile(np.arange(1, d + 1), (len(p), 1)),
                               atol=1e-9)
    with pytest.raises(ValueError, match="Hessian"):
        om_.hessian(f)


def _sphere(n, seed=0):
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def test_surface_moments_laplacian_equals_taylor_order2():
    p = _sphere(2000)
    Lm = om.LaplaceBeltrami(method="moments", k=16).fit(p).L_
    Lt = om.LaplaceBeltrami(order=2, k=16).fit(p).L_
    assert abs(Lm - Lt).max() <= 1e-10 * abs(Lt).max()
    g = om.SurfaceGradient(method="moments").fit(p).apply(p[:, 2])
    exact = np.array([0, 0, 1]) - p[:, 2:3] * p
    err = np.linalg.norm(g - exact, axis=1)
    assert np.median(err) < 0.02 and err.max() < 0.3


# -- vector calculus on fields ---------------------------------------------------------------
@pytest.mark.parametrize("method", ["moments", "taylor"])
def test_rotation_and_radial_fields_in_volumes(method):
    p = np.random.default_rng(1).uniform(-1, 1, size=(3000, 3))
    w = np.array([0.4, -1.0, 2.0])
    R = np.cross(w, p)
    fc = om.FieldCalculus(method=method).fit(p)
    np.testing.assert_allclose(fc.divergence(R), 0, atol=1e-9)
    np.testing.assert_allclose(fc.curl(R), np.tile(2 * w, (len(p), 1)), atol=1e-9)
    np.testing.assert_allclose(fc.divergence(p), 3, atol=1e-9)
    np.testing.assert_allclose(fc.curl(p), 0, atol=1e-9)
    J = fc.gradient(R)
    W = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
    assert J.shape == (len(p), 3, 3)
    np.testing.assert_allclose(J, np.broadcast_to(W, J.shape), atol=1e-9)
    # vector Laplacian, componentwise, of a quadratic field: exact
    Q = np.c_[p[:, 0] ** 2, p[:, 1] * p[:, 2], p[:, 2] ** 2 + p[:, 0] ** 2]
    np.testing.assert_allclose(fc.laplacian(Q), np.tile([2, 0, 4], (len(p), 1)), atol=1e-7)
    # tensor fields: gradient (n, 3, 3, 3), divergence contracts the last index
    A = np.random.default_rng(5).normal(size=(3, 3, 3))
    TL = np.einsum("ijl,nl->nij", A, p)           # linear tensor: div_i = Σ_j A_ijj
    np.testing.assert_allclose(fc.gradient(TL), np.broadcast_to(A, (len(p), 3, 3, 3)),
                               atol=1e-9)
    np.testing.assert_allclose(fc.divergence(TL), np.tile(np.einsum("ijj->i", A), (len(p), 1)),
                               atol=1e-9)
    T = np.einsum("ni,nj->nij", p, p)
    np.testing.assert_allclose(fc.laplacian(T), np.broadcast_to(2 * np.eye(3), T.shape),
                               atol=1e-7)
    # sparse forms agree with the functions
    np.testing.assert_allclose(fc.D_ @ R.T.ravel(), fc.divergence(R))
    np.testing.assert_allclose((fc.C_ @ R.T.ravel()).reshape(3, -1).T, fc.curl(R))
    np.testing.assert_allclose(om.curl(p, R, method=method), fc.curl(R))


def test_planar_fields():
    q = np.random.default_rng(2).uniform(size=(2000, 2))
    rot = np.c_[-q[:, 1], q[:, 0]]
    np.testing.assert_allclose(om.curl(q, rot), 2, atol=1e-9)
    np.testing.assert_allclose(om.field_divergence(q, rot), 0, atol=1e-9)
    np.testing.assert_allclose(om.field_divergence(q, q), 2, atol=1e-9)
    np.testing.assert_allclose(om.field_laplacian(q, q ** 2), 2, atol=1e-8)
    assert om.field_gradient(q, q[:, 0]).shape == (2000, 2)


def test_nonlinear_field_first_order_vs_taylor3():
    """div of a smooth nonlinear field: moments first order, taylor order 3 far better."""
    errs = {}
    for method, order in (("moments", None), ("taylor", 3)):
        e = []
        for n in (2000, 16000):
            p = np.random.default_rng(n).uniform(size=(n, 3))
            V = np.c_[np.sin(2 * p[:, 0]), np.cos(p[:, 1] * p[:, 2]), np.exp(p[:, 2])]
            div = 2 * np.cos(2 * p[:, 0]) - p[:, 2] * np.sin(p[:, 1] * p[:, 2]) + np.exp(p[:, 2])
            inner = np.all(np.abs(p - 0.5) < 0.35, axis=1)
            fc = om.FieldCalculus(method=method, order=order).fit(p)
            e.append(np.median(np.abs(fc.divergence(V) - div)[inner]))
        errs[method] = e
    rate = np.log(errs["moments"][0] / errs["moments"][1]) / np.log(2)   # h ∝ n^(-1/3)
    assert 0.6 < rate < 1.5, errs
    assert errs["taylor"][1] < 0.1 * errs["moments"][1]


def test_sphere_fields():
    p = _sphere(3000, seed=2)
    w = np.array([0.3, -0.2, 1.0])
    V = np.cross(w, p)                            # tangent rotation: div 0, n·curl = 2 n·ω
    for method, order, tol in (("moments", None, 0.05), ("taylor", 3, 2e-3)):
        fc = om.FieldCalculus(surface=True, method=method, order=order,
                              orient="outward").fit(p)
        assert np.median(np.abs(fc.divergence(V))) < tol
        assert np.median(np.abs(fc.curl(V) - 2 * p @ w)) < tol
        assert (fc.normals_ * p).sum(1).min() > 0.9
        # Laplace–Beltrami of the coordinate functions: Δ_S x = −2x
        assert np.median(np.abs(fc.laplacian(p) + 2 * p)) < 0.01
    np.testing.assert_allclose(om.field_divergence(p, V, surface=True),
                               om.divergence(p, V, method="moments", order=2), atol=1e-12)


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="`k`.*d\\(d\\+3\\)/2 = 9"):
        om.stencil_weights(rng.normal(size=(9, 3)), method="moments")
    with pytest.raises(ValueError, match="`k`.*d\\(d\\+3\\)/2 = 5"):
        om.stencil_weights(rng.normal(size=(5, 2)), method="moments")
    with pytest.raises(ValueError, match="`k`"):
        om.ScatteredDerivatives(method="moments", k=9).fit(rng.uniform(size=(100, 3)))
    with pytest.raises(ValueError, match="`k`"):
        om.SurfaceGradient(method="moments", k=5).fit(_sphere(200))
    with pytest.raises(ValueError, match="`order`"):
        om.stencil_weights(rng.normal(size=(12, 2)), method="moments", order=1)
    with pytest.raises(ValueError, match="`order`"):
        om.ScatteredDerivatives(method="moments", order=3).fit(rng.uniform(size=(100, 3)))
    with pytest.raises(ValueError, match="order"):
        om.LaplaceBeltrami(method="moments", order=3).fit(_sphere(200))
    with pytest.raises(ValueError, match="weights"):
        om.stencil_weights(rng.normal(size=(12, 2)), method="moments", weights=0)
    with pytest.raises(ValueError, match="bounds"):
        om.ScatteredDerivatives(method="moments", bounds=True).fit(rng.uniform(size=(100, 3)))
    # kernel: unsupported derivatives name the derivative and `order`
    pts = np.vstack([np.zeros((1, 2)), rng.normal(size=(8, 2))])
    args = (pts, np.arange(1, 9)[None], np.zeros(1, np.intp), None)
    with pytest.raises(ValueError, match=r"\(1, 1\).*`order`"):
        moments_weights(*args, order=2, targets=[(1, 1)])
    with pytest.raises(ValueError, match="Laplacian"):
        moments_weights(*args, order=2, targets=[{(2, 0): 1.0, (0, 2): 2.0}])
    with pytest.raises(ValueError, match="`order`"):
        moments_weights(*args, order=3, targets=[(1, 0)])
    w, _, _ = moments_weights(*args, order=2, targets=[{(1, 0): 2.0, (0, 1): -1.0}, (1, 0)])
    np.testing.assert_allclose(w[0, :, 0], 2 * w[0, :, 1] - om.stencil_weights(
        pts[1:], method="moments")[(0, 1)], atol=1e-13)
    # coincident neighbour
    off = rng.normal(size=(12, 3))
    off[4] = 0
    with pytest.raises(ValueError, match="coincides"):
        om.stencil_weights(off, method="moments")
    # field API
    p = rng.uniform(size=(300, 3))
    fc = om.FieldCalculus().fit(p)
    with pytest.raises(ValueError, match="one row per point"):
        fc.divergence(np.ones((10, 3)))
    with pytest.raises(ValueError, match="shape \\(n, 3\\)"):
        fc.curl(np.ones((300, 2)))
    with pytest.raises(ValueError, match="last axis"):
        fc.divergence(np.ones(300))
    with pytest.raises(ValueError, match="method"):
        om.FieldCalculus(method="rbf").fit(p)
    with pytest.raises(ValueError, match="not fitted"):
        om.FieldCalculus().gradient(np.ones(3))
    with pytest.raises(ValueError):
        om.field_gradient(rng.uniform(size=(100, 2)), np.ones(100), surface=True)


def test_rank_deficient_stencils_are_flagged():
    # collinear offsets: rank of the moment system drops, rcond ~ 0
    t = np.linspace(-1, 1, 12)[:, None]
    w = om.stencil_weights(np.hstack([t, 2 * t]) + 0.0, method="moments")
    assert w.diagnostics["rank"] < 5 and w.diagnostics["rcond"] < 1e-6
    # a planar cluster inside a volumetric set: its stencils see only the plane
    g = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), -1).reshape(-1, 2) * 0.01
    rng = np.random.default_rng(1)
    p = np.vstack([np.c_[g, np.zeros(len(g))], rng.uniform(2, 3, size=(60, 3))])
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        op = om.ScatteredDerivatives(method="moments", k=12, guard=False).fit(p)
    assert op.diagnostics_["rank_deficient"][:len(g)].all()
    assert not op.diagnostics_["rank_deficient"][len(g):].any()
