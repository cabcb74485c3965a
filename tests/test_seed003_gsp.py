"""Seed 003 (CLS-GSP / LS-GSP): the compiled kernel against the NumPy reference, exactness,
scale covariance, the operators built on it, its robustness claims, and bad input."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.linalg as sl

import o3d_meshless as om
from o3d_meshless.stencils import gsp
from o3d_meshless.testing.gsp_reference import gsp_derivative_weights
from o3d_meshless.testing import (fibonacci_sphere, gbpm_sphere, observed_order, random_sphere,
                                  sphere_eigenvalue_errors)

LAP2 = {(2, 0): 1.0, (0, 2): 1.0}
RBF_NAMES = tuple(gsp.RBFS)


def _kernel(off, targets, *, method="clsgsp", order=2, **opts):
    """Compiled weights of one stencil given its offsets (centre at the origin)."""
    d = off.shape[1]
    pts = np.vstack([np.zeros((1, d)), off])
    nbrs = np.arange(1, len(off) + 1, dtype=np.intp)[None]
    w, diag, status, centre = gsp.gsp_weights(
        pts, nbrs, np.zeros(1, dtype=np.intp), None, order=order, targets=targets,
        constrained=method == "clsgsp", details=True, **opts)
    assert status[0] == 0
    return w[0], diag[0], centre[0]


def _ghosts_in_rbar(off, ghosts):
    """The kernel's ghosts in the reference's unit (the mean neighbour distance r̄)."""
    template, half_max = gsp.ghost_layout(ghosts, off.shape[1])
    r = np.linalg.norm(off, axis=1)
    return template * (0.5 * r.max() / r.mean() if half_max else 1.0)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("method", ["clsgsp", "lsgsp"])
@pytest.mark.parametrize("rbf", RBF_NAMES)
@pytest.mark.parametrize("order", [2, 3])
def test_kernel_matches_numpy_reference(dim, method, rbf, order):
    rng = np.random.default_rng(dim * 7 + order)
    off = rng.uniform(-1, 1, (30 if dim == 3 else 20, dim)) * 0.05
    targets = list(gsp.monomials(order, dim)) + [{m: 1.0 for m in gsp.monomials(2, dim)
                                                   if max(m) == 2}]
    w, diag, centre = _kernel(off, targets, method=method, order=order, rbf=rbf, shape=2.0)
    ref, info = gsp_derivative_weights(off, targets, ghosts=_ghosts_in_rbar(off, "circle"),
                                       rbf=rbf, shape=2.0, degree=order,
                                       constrained=method == "clsgsp", pinv_rcond=gsp.RCOND,
                                       scaled=True)
    scale = np.abs(ref).max(axis=0)
    assert np.abs(w - ref).max(axis=0) == pytest.approx(0, abs=1e-7 * scale.max())
    assert (np.abs(w - ref) <= 1e-7 * scale).all()
    assert int(diag[3]) == info["rank"]
    if method == "lsgsp":
        assert np.allclose(centre, info["centre_weight"], rtol=1e-7, atol=1e-7 * scale.max())


@pytest.mark.parametrize("ghosts", ["disc", 12, np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0],
                                                          [0.0, -1.0], [0.5, 0.5], [-0.5, 0.5],
                                                          [0.5, -0.5], [-0.5, -0.5]])])
def test_kernel_matches_reference_for_other_ghost_layouts(ghosts):
    off = np.random.default_rng(3).uniform(-1, 1, (60, 2))
    w, _, _ = _kernel(off, [LAP2, (1, 0)], ghosts=ghosts, rbf="iq", shape=0.5)
    ref, _ = gsp_derivative_weights(off, [LAP2, (1, 0)], ghosts=_ghosts_in_rbar(off, ghosts),
                                    rbf="iq", shape=0.5, pinv_rcond=gsp.RCOND, scaled=True)
    assert np.allclose(w, ref, rtol=1e-7, atol=1e-7 * np.abs(ref).max())


@pytest.mark.parametrize("shape, band", [(1.0, (1.0, 1e3)), (0.1, (1e3, 1e6)),
                                         (0.01, (1e6, np.inf))])
def test_each_solve_path_matches_the_reference(shape, band):
    """The kernel solves through the normal equations' Cholesky factor (condition below
    1e3), a Householder QR (below 1e6) or the truncated SVD; the shape parameter moves a
    stencil through the three (``rcond_system`` reports the condition used to choose)."""
    off = np.random.default_rng(3).uniform(-1, 1, (20, 2)) * 0.05
    w, diag, _ = _kernel(off, [LAP2, (1, 0)], rbf="gaussian", shape=shape)
    assert band[0] <= 1.0 / diag[1] < band[1]
    ref, _ = gsp_derivative_weights(off, [LAP2, (1, 0)], ghosts=_ghosts_in_rbar(off, "circle"),
                                    rbf="gaussian", shape=shape, pinv_rcond=gsp.RCOND,
                                    scaled=True)
    # the reference's SVD loses about kappa * eps too
    tol = max(1e-12, 1e-15 / diag[1])
    assert np.abs(w - ref).max() <= tol * np.abs(ref).max()


@pytest.mark.parametrize("method", ["clsgsp", "lsgsp"])
@pytest.mark.parametrize("order", [2, 3, 4])
def test_polynomials_up_to_the_degree_are_exact(method, order):
    rng = np.random.default_rng(order)
    off = rng.uniform(-0.1, 0.1, (30, 2))
    sw = om.stencil_weights(off, method=method, order=order)
    x, y = off.T
    # f = 1 + 2x − y + x² + 3xy − 2y² (+ cubic/quartic terms when the degree allows)
    f = 1 + 2 * x - y + x ** 2 + 3 * x * y - 2 * y ** 2
    lap, fx = 2 - 4, 2.0
    if order >= 3:
        f = f + x ** 3 + x * y ** 2          # Δ = 6x + 2x, zero at the centre; ∂x = 0 there
    if order >= 4:
        f = f + x ** 2 * y ** 2              # Δ(x²y²) = 2y² + 2x² = 0 at the centre
    df = f - 1
    assert sw[(2, 0)] @ df + sw[(0, 2)] @ df == pytest.approx(lap, abs=1e-8)
    assert sw[(1, 0)] @ df == pytest.approx(fx, abs=1e-8)
    assert sw[(1, 1)] @ df == pytest.approx(3.0, abs=1e-7)


def test_weights_scale_with_the_stencil():
    off = np.random.default_rng(5).uniform(-1, 1, (20, 2))
    a = om.stencil_weights(off, method="clsgsp")
    b = om.stencil_weights(1e-3 * off, method="clsgsp")
    for m in a:
        assert np.allclose(b[m] * 1e-3 ** sum(m), a[m], rtol=1e-9, atol=1e-12 * np.abs(a[m]).max())


def test_constrained_fit_passes_through_the_centre():
    # CLS-GSP's centre weight is -Σ w (constants reproduced exactly); LS-GSP's own centre
    # weight also cancels the others when the constant is in its basis
    off = np.random.default_rng(6).uniform(-1, 1, (20, 2))
    for method in ("clsgsp", "lsgsp"):
        sw = om.stencil_weights(off, method=method)
        for m in sw:
            assert sw.centre_weight[m] == pytest.approx(-sw[m].sum(), abs=1e-8 * np.abs(sw[m]).sum())


def test_laplacian_consistency_slopes_match_the_seed():
    # seed 003 §4.2: 20 points shrunk by h with c h² fixed; exp(-x²-y²) at the origin,
    # Δ = -4; slopes ≈ 2, 2, 4 for degree 2, 3, 4
    rng = np.random.default_rng(0)
    off = rng.uniform(-1, 1, (20, 2))
    u = lambda p: np.exp(-(p ** 2).sum(axis=1))
    hs = 2.0 ** -np.arange(2, 6)
    for order, slope in ((2, 2), (3, 2), (4, 4)):
        err = []
        for h in hs:
            w, _, _ = _kernel(h * off, [LAP2], order=order, shape=0.1)
            err.append(abs(w[:, 0] @ (u(h * off) - 1) + 4))
        fitted = np.polyfit(np.log(hs), np.log(err), 1)[0]
        assert fitted == pytest.approx(slope, abs=0.4), (order, err)


def test_near_coincident_samples_keep_the_stencil_finite():
    # a sample 1e-7 r̄ from another (above the coincident-merge threshold): the ghost
    # basis does not depend on the samples, so the system stays well posed
    off = np.random.default_rng(7).uniform(-1, 1, (20, 2))
    off[1] = off[0] + 1e-7
    sw = om.stencil_weights(off, method="clsgsp")
    x, y = off.T
    df = x ** 2 + y ** 2
    assert sw[(2, 0)] @ df + sw[(0, 2)] @ df == pytest.approx(4.0, abs=1e-8)
    assert sw.diagnostics["rank"] == 13                 # 8 ghosts + 5 polynomials


def test_thomson_sphere_is_spread_and_cached():
    x = gsp.thomson_sphere(20)
    assert x is gsp.thomson_sphere(20)
    assert np.allclose(np.linalg.norm(x, axis=1), 1)
    d = np.linalg.norm(x[:, None] - x[None], axis=2) + 3 * np.eye(20)
    fib = fibonacci_sphere(20)
    dfib = np.linalg.norm(fib[:, None] - fib[None], axis=2) + 3 * np.eye(20)
    assert d.min() > dfib.min()                       # repulsion separates the closest pair
    assert (1 / d[np.triu_indices(20, 1)]).sum() < (1 / dfib[np.triu_indices(20, 1)]).sum()


def test_volumetric_laplacian_converges():
    # 3-D scattered data with ghosts on a Thomson sphere: Laplacian of a smooth field
    f = lambda p: np.sin(p[:, 0]) * np.exp(p[:, 1]) + p[:, 2] ** 3
    lap = lambda p: 6 * p[:, 2]          # Δ(sin x e^y) = 0
    errs = []
    for n in (2000, 16000):
        p = np.random.default_rng(1).uniform(-1, 1, (n, 3))
        op = om.ScatteredDerivatives(method="clsgsp", order=3).fit(p)
        inner = np.abs(p).max(axis=1) < 0.6
        errs.append(np.sqrt(np.mean((-op.L_ @ f(p) - lap(p))[inner] ** 2)))
    order = np.log(errs[0] / errs[1]) / np.log(2.0)   # h ∝ n^(-1/3): n × 8 halves h
    assert order > 1.2, errs


@pytest.mark.filterwarnings("ignore:eigenvalues have imaginary parts")   # ≤ 0.2 at λ ≈ 20–30
@pytest.mark.parametrize("sampler", [fibonacci_sphere, random_sphere])
def test_sphere_eigenvalues_converge_at_second_order(sampler):
    errs, ns = [], (1500, 6000)
    for n in ns:
        op = om.LaplaceBeltrami(method="clsgsp").fit(sampler(n))
        vals, _ = op.spectrum(n_modes=36)
        errs.append(sphere_eigenvalue_errors(vals, 5))
        assert vals.min() > -1e-8
    rate = observed_order(errs[0], errs[1], *ns)
    assert (rate[[0, 2, 3, 4]] > 1.5).all(), (rate, errs)


def test_gbpm_sphere_spectrum_is_stable_and_the_ls_variant_is_not():
    # the seed's Fig. 12 on its own sampling (duplicates and near-coincident samples)
    p = gbpm_sphere(0.2)
    cls = om.LaplaceBeltrami(method="clsgsp").fit(p)
    ev = sl.eigvals(cls.L_.toarray())
    assert ev.real.min() > -1e-8
    ls = om.LaplaceBeltrami(method="lsgsp", guard=False).fit(p)
    assert (sl.eigvals(ls.L_.toarray()).real < -1e-8).sum() > 10


def test_surface_gradient_with_clsgsp():
    p = random_sphere(4000)
    g = om.SurfaceGradient(method="clsgsp", order=3).fit(p).apply(p[:, 2])
    exact = np.array([0, 0, 1.0]) - p[:, 2:3] * p
    assert np.sqrt(np.mean((g - exact) ** 2)) < 2e-3


def test_scattered_functions_take_the_gsp_options():
    p = np.random.default_rng(2).uniform(-1, 1, (3000, 2))
    f = p[:, 0] ** 2 + p[:, 1] ** 2
    lap = om.scattered_laplacian(p, f, method="clsgsp", order=2, rbf="imq", shape=1.0)
    assert np.allclose(lap, 4, atol=1e-7)
    g = om.scattered_gradient(p, f, method="lsgsp", ghosts="disc", k=60)
    assert np.allclose(g, 2 * p, atol=1e-7)


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("opts, match", [
    (dict(rbf="cubic"), "`rbf`"),
    (dict(shape=0.0), "`shape`"),
    (dict(shape=np.nan), "`shape`"),
    (dict(shape=True), "`shape`"),
    (dict(ghosts="square"), "`ghosts`"),
    (dict(ghosts=1), "`ghosts`"),
    (dict(ghosts=np.zeros((4, 3))), "`ghosts`"),
    (dict(ghosts=np.full((4, 2), np.inf)), "`ghosts`"),
    (dict(weights=1), "`weights`"),
    (dict(centre="interpolate"), "`centre`"),
    (dict(order=5), "`order`"),
])
def test_stencil_weights_bad_options(opts, match):
    off = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    with pytest.raises(ValueError, match=match):
        om.stencil_weights(off, method="clsgsp", **opts)


def test_bad_input_names_the_argument():
    off = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    with pytest.raises(ValueError, match="`offsets`"):
        om.stencil_weights(off[:4], method="clsgsp")             # fewer than 5 rows
    with pytest.raises(ValueError, match="`offsets`"):
        om.stencil_weights(np.vstack([off, [[np.nan, 0]]]), method="clsgsp")
    with pytest.raises(ValueError, match="`offsets` row"):
        om.stencil_weights(np.vstack([off, [[0, 0]]]), method="lsgsp")
    with pytest.raises(ValueError, match="`rbf`"):
        om.stencil_weights(off, rbf="gaussian")                  # taylor has no rbf
    with pytest.raises(ValueError, match="not available"):
        _kernel(off, [(3, 0)], order=3)
    with pytest.raises(ValueError, match="2-D layout"):
        om.ScatteredDerivatives(method="clsgsp", ghosts="disc").fit(
            np.random.default_rng(0).uniform(size=(200, 3)))
    with pytest.raises(ValueError, match="`bounds`"):
        om.ScatteredDerivatives(method="clsgsp", bounds=True).fit(
            np.random.default_rng(0).uniform(size=(200, 2)))
    with pytest.raises(ValueError, match="`shape` of LaplaceBeltrami"):
        om.LaplaceBeltrami(method="clsgsp", shape=-1).fit(random_sphere(200))
    with pytest.raises(ValueError, match="`ghosts` of LaplaceBeltrami|`ghosts`"):
        om.LaplaceBeltrami(method="taylor", ghosts="disc").fit(random_sphere(200))
    with pytest.raises(ValueError, match="`k` of LaplaceBeltrami"):
        om.LaplaceBeltrami(method="clsgsp", order=4, k=10).fit(random_sphere(200))


def test_collinear_neighbourhoods_are_flagged_not_crashing():
    # points on two parallel lines: every stencil's polynomial block is rank-deficient
    t = np.linspace(0, 1, 200)
    p = np.r_[np.c_[t, 0 * t], np.c_[t, 0 * t + 1e-3]]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        op = om.ScatteredDerivatives(method="clsgsp", k=12).fit(p)
    assert op.diagnostics_["n_rank_deficient"] > 0
    assert any("rank-deficient" in str(w.message) for w in rec)


def test_cli_spectrum_with_clsgsp(tmp_path):
    out = tmp_path / "m.npz"
    res = subprocess.run([sys.executable, "-m", "o3d_meshless", "spectrum", "--method", "clsgsp",
                          "--rbf", "inverse-quadratic", "--shape", "5", "--modes", "6",
                          "--out", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    data = np.load(out)
    assert str(data["method"]) == "clsgsp"
    assert data["eigenvalues"][0] == pytest.approx(0, abs=1e-6)
    assert (data["eigenvalues"][1:] > 0).all()
    res = subprocess.run([sys.executable, "-m", "o3d_meshless", "spectrum", "--rbf", "gaussian",
                          "--modes", "3", "-q"], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "`--rbf`" in res.stderr   # the CLI names its flag


def test_fewer_samples_than_ghosts_is_refused():
    # an underdetermined "least-squares" fit would not reproduce polynomials
    off = np.random.default_rng(0).uniform(-1, 1, (30, 2))
    with pytest.raises(ValueError, match="`offsets` must hold at least as many samples"):
        om.stencil_weights(off, method="clsgsp", ghosts="disc")
    with pytest.raises(ValueError, match="`k` of LaplaceBeltrami must give"):
        om.LaplaceBeltrami(method="clsgsp", ghosts="disc").fit(random_sphere(300))
    op = om.ScatteredDerivatives(method="clsgsp", ghosts="disc").fit(
        np.random.default_rng(1).uniform(size=(400, 2)))
    assert op.diagnostics_["k_used"].min() >= 49          # default k covers the ghosts


def test_clsgsp_operator_contract():
    # same matrix from an Open3D cloud and from the array, any thread count, input untouched;
    # exact duplicates share a row and add no spurious zero modes
    o3d = pytest.importorskip("open3d")
    p = random_sphere(1500)
    keep = p.copy()
    L1 = om.LaplaceBeltrami(method="clsgsp", workers=1).fit(p).L_
    pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
    L2 = om.LaplaceBeltrami(method="clsgsp", workers=-1).fit(pcd).L_
    assert abs(L1 - L2).max() < 1e-12 and np.array_equal(p, keep)
    dup = np.vstack([p, p[:50]])
    op = om.LaplaceBeltrami(method="clsgsp").fit(dup)
    assert op.diagnostics_["n_coincident"] == 50
    vals, _ = op.spectrum(n_modes=5)
    assert vals[0] == pytest.approx(0, abs=1e-8) and vals[1] > 1.5
