"""Seed 002 (Carley, moving least squares via orthogonal polynomials): method 'orthopoly'."""
import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.stencils import METHODS
from o3d_meshless.stencils.orthopoly import (
    candidates, orthonormal_polynomials, orthopoly_weights, select_monomials)

R2, R3 = np.sqrt(2.0), np.sqrt(3.0)
GRID = np.array([(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1)], dtype=float)
CIRCLE = np.c_[np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)]


def _poly(kept, row):
    return {m: c for m, c in zip(kept, row) if abs(c) > 1e-12}


def _same_up_to_sign(got, want):
    assert set(got) == set(want), (got, want)
    s = np.sign(got[next(iter(want))] / want[next(iter(want))])
    for m, c in want.items():
        assert got[m] == pytest.approx(s * c, abs=1e-12), m


def test_grid_monomials_and_eq6():
    kept, C = orthonormal_polynomials(GRID, 4)
    assert kept == ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2), (2, 1), (1, 2), (2, 2))
    want = [
        {(0, 0): 1 / 3},
        {(1, 0): 1 / (R2 * R3)},
        {(0, 1): 1 / (R2 * R3)},
        {(0, 0): -R2 / 3, (2, 0): 1 / R2},
        {(1, 1): 0.5},
        {(0, 0): -R2 / 3, (0, 2): 1 / R2},
        {(0, 1): -1 / R3, (2, 1): R3 / 2},
        {(1, 0): -1 / R3, (1, 2): R3 / 2},
        # (6i) as printed reads x1^2 x2; orthonormality on the grid needs x1^2 x2^2
        {(0, 0): 2 / 3, (2, 0): -1, (0, 2): -1, (2, 2): 1.5},
    ]
    for row, w in zip(C, want):
        _same_up_to_sign(_poly(kept, row), w)


def test_circle_monomials_and_eq7():
    kept, C = orthonormal_polynomials(CIRCLE, 3)
    assert kept == ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (3, 0))
    want = [
        {(0, 0): 1 / (R2 * R3)},
        {(1, 0): 1 / R3},
        {(0, 1): 1 / R3},
        {(0, 0): -1 / R3, (2, 0): 2 / R3},
        {(1, 1): 2 / R3},
        {(1, 0): -R3 / R2, (3, 0): 2 * R2 / R3},
    ]
    for row, w in zip(C, want):
        _same_up_to_sign(_poly(kept, row), w)


def test_orthonormal_on_points_and_scale_free():
    rng = np.random.default_rng(1)
    pts = rng.uniform(-1, 1, (20, 2))
    kept, C = orthonormal_polynomials(pts, 4)
    V = np.stack([np.prod(pts ** np.array(m), axis=1) for m in kept], axis=1)
    P = V @ C.T
    np.testing.assert_allclose(P.T @ P, np.eye(len(kept)), atol=1e-9)
    # the rank test is scale-free: the same selection at any scale
    for scale in (1e-6, 1.0, 1e5):
        assert select_monomials(GRID * scale, 4)[0] == select_monomials(GRID, 4)[0]


def test_select_monomials_degenerate_configurations():
    kept, rejected, comp = select_monomials(CIRCLE, 3)
    assert (0, 2) in rejected and comp == 1
    line = np.c_[np.linspace(-1, 1, 7), np.zeros(7)]
    kept, rejected, comp = select_monomials(line, 2)
    assert kept == ((0, 0), (1, 0), (2, 0)) and comp == 0
    kept, rejected, comp = select_monomials(line, 2, constant=False)
    assert kept == ((1, 0), (2, 0)) and comp == 0
    with pytest.raises(ValueError, match="rtol"):
        select_monomials(GRID, 2, rtol=2.0)
    with pytest.raises(ValueError, match="order"):
        select_monomials(GRID, 5)


def test_registered():
    assert "orthopoly" in METHODS and METHODS["orthopoly"].max_order == 4


@pytest.mark.parametrize("centre", ["interpolate", "least-squares"])
@pytest.mark.parametrize("d", [2, 3])
def test_polynomials_reproduced_exactly(centre, d):
    rng = np.random.default_rng(d)
    off = rng.uniform(-0.1, 0.1, (60, d))
    # a quartic: every derivative up to order 4 exact
    c = rng.normal(size=d)

    def f(p):
        return 1.5 + p @ c + (p[:, 0] ** 2) * p[:, -1] + p[:, 0] ** 4 + (p ** 2).sum(1) ** 2

    w = om.stencil_weights(off, method="orthopoly", order=4, centre=centre)
    assert w.complete_order == 4 and w.rejected == ()
    df = f(off) - 1.5
    e = np.eye(d, dtype=int)
    for q in range(d):
        assert w[tuple(e[q])] @ df == pytest.approx(c[q], abs=1e-8)
    assert w[(4,) + (0,) * (d - 1)] @ df == pytest.approx(24 + 24, rel=1e-6)
    if d == 2:
        assert w[(2, 1)] @ df == pytest.approx(2.0, rel=1e-6)
        assert w[(2, 2)] @ df == pytest.approx(8.0, rel=1e-6)
    for m in w:
        assert w.centre_weight[m] == pytest.approx(-w[m].sum(), abs=1e-6 * np.abs(w[m]).sum())


def test_variants_differ_and_ls_matches_published_formula():
    """LS variant = paper eq. (5) with the centre as a point; interpolate variant = fit to
    differences without constant. Both exact on quadratics, different on data."""
    rng = np.random.default_rng(3)
    off = rng.uniform(-1, 1, (12, 2))
    wi = om.stencil_weights(off, method="orthopoly", order=2, centre="interpolate")
    wl = om.stencil_weights(off, method="orthopoly", order=2, centre="least-squares")
    assert not np.allclose(wi[(2, 0)], wl[(2, 0)])
    # published weights from the explicit polynomials: v_j = sum_i P_i(x_j) D P_i(0)
    pts = np.vstack([np.zeros((1, 2)), off])
    kept, C = orthonormal_polynomials(pts, 2)
    V = np.stack([np.prod(pts ** np.array(m), axis=1) for m in kept], axis=1)
    idx = kept.index((2, 0))
    v = (V @ C.T) @ (C[:, idx] * 2.0)
    np.testing.assert_allclose(wl[(2, 0)], v[1:], atol=1e-10)
    assert wl.centre_weight[(2, 0)] == pytest.approx(v[0], abs=1e-10)
    # interpolating variant = least squares on differences (Taylor, unweighted)
    wt = om.stencil_weights(off, method="taylor", order=2)
    np.testing.assert_allclose(wi[(2, 0)], wt[(2, 0)], atol=1e-10)


def test_incomplete_basis_gives_nan_never_zero_and_strict_raises():
    line = np.c_[np.linspace(-1, 1, 9)[np.arange(9) != 4], np.zeros(8)]
    w = om.stencil_weights(line, method="orthopoly", order=2)
    assert w.complete_order == 0
    assert (0, 1) in w.rejected and (0, 2) in w.rejected
    assert not any(w.available.values())
    assert all(np.isnan(w[m]).all() for m in w)
    assert w.diagnostics["rcond"] == 0.0
    with pytest.raises(ValueError, match="not representable"):
        om.stencil_weights(line, method="orthopoly", order=2, strict=True)
    # circle of 6 neighbours: interpolating basis (no constant) complete to order 2
    # (x2^2 independent of x1^2 without the constant), third order not
    w = om.stencil_weights(CIRCLE, method="orthopoly", order=3)
    assert w.complete_order == 2
    assert np.isfinite(w[(2, 0)]).all() and np.isnan(w[(3, 0)]).all()
    assert w.available[(1, 1)] and not w.available[(2, 1)]


def test_highest_complete():
    w = om.stencil_weights(CIRCLE, method="orthopoly", order="highest-complete")
    assert w.order == 2 and w.complete_order == 2
    f = lambda p: 1 + p[:, 0] - 3 * p[:, 1] ** 2
    df = f(CIRCLE) - 1
    assert w[(1, 0)] @ df == pytest.approx(1.0) and w[(0, 2)] @ df == pytest.approx(-6.0)
    rng = np.random.default_rng(5)
    w = om.stencil_weights(rng.uniform(-1, 1, (40, 2)), method="orthopoly",
                           order="highest-complete")
    assert w.order == 4
    line = np.c_[np.linspace(-1, 1, 9)[np.arange(9) != 4], np.zeros(8)]
    with pytest.raises(ValueError, match="complete first-order"):
        om.stencil_weights(line, method="orthopoly", order="highest-complete")


def test_bad_input():
    off = np.random.default_rng(0).uniform(-1, 1, (10, 2))
    with pytest.raises(ValueError, match="centre"):
        om.stencil_weights(off, method="orthopoly", centre="middle")
    with pytest.raises(ValueError, match="centre"):
        om.stencil_weights(off, method="taylor", centre="interpolate")
    with pytest.raises(ValueError, match="rtol"):
        om.stencil_weights(off, method="orthopoly", rtol=0)
    with pytest.raises(ValueError, match="order"):
        om.stencil_weights(off, method="orthopoly", order="highest")
    with pytest.raises(ValueError, match="order"):
        om.stencil_weights(off, method="orthopoly", order=5)
    with pytest.raises(ValueError, match="zero"):
        om.stencil_weights(np.vstack([off, [0, 0]]), method="orthopoly")
    with pytest.raises(ValueError, match="offsets"):
        om.stencil_weights(off[:, :1], method="orthopoly")


def test_kernel_threads_agree_and_candidates():
    rng = np.random.default_rng(7)
    pts = rng.uniform(-1, 1, (400, 3))
    from scipy.spatial import cKDTree
    nb = cKDTree(pts).query(pts, 25)[1][:, 1:].astype(np.intp)
    centres = np.arange(400, dtype=np.intp)
    tg = [(1, 0, 0), {(2, 0, 0): 1, (0, 2, 0): 1, (0, 0, 2): 1}]
    for centre in ("interpolate", "least-squares"):
        a = orthopoly_weights(pts, nb, centres, None, order=3, targets=tg, centre=centre,
                              n_threads=1, details=True)
        b = orthopoly_weights(pts, nb, centres, None, order=3, targets=tg, centre=centre,
                              n_threads=4, details=True)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[3]["rejected"], b[3]["rejected"])
    assert len(candidates(4, 3)) == 35 and candidates(2, 2, False)[0] == (1, 0)


def _scan_lines(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (3, n))
    return np.c_[x.ravel(), np.repeat([0.0, 0.01, 0.02], n)]


@pytest.mark.parametrize("fallback", [True, False])
def test_taylor_guard_rank_fallback_on_scan_lines(fallback):
    """Three scan lines: y^3 is unsupported at every k, so order-3 Taylor fails the rank
    test. The orthopoly fallback keeps order 3 without y^3 and differentiates the cubic
    x^3 + x y^2 exactly; without it the guard drops to order 2 (error ~1e-3)."""
    from o3d_meshless.operators.guard import guarded_stencils
    from o3d_meshless.sampling.neighbors import knn
    pts = _scan_lines()
    st = guarded_stencils(knn(pts, 12), None, method="taylor", order=3,
                          targets=[(1, 0), (0, 1)], fallback=fallback)
    f = pts[:, 0] ** 3 + pts[:, 0] * pts[:, 1] ** 2
    df = f[st.indices] - np.repeat(f, np.diff(st.indptr))
    gx = np.add.reduceat(st.weights[:, 0] * df, st.indptr[:-1])
    err = np.abs(gx - (3 * pts[:, 0] ** 2 + pts[:, 1] ** 2)).max()
    assert not st.failed.any()
    if fallback:
        assert st.fallback.all() and (st.order_used == 3).all() and err < 1e-9
        assert np.isnan(st.diagnostics[:, 1]).all() and (st.diagnostics[:, 0] > 0).all()
        assert st.attempts[-1]["fallback"] == len(pts)
    else:
        assert not st.fallback.any() and (st.order_used == 2).all() and err > 1e-4


def test_fallback_not_used_when_target_unrepresentable():
    """A Laplacian needs y^2: on a single scan line the fallback cannot represent it and
    the guard behaves as before (rows flagged failed, no NaN put into the stencils)."""
    from o3d_meshless.operators.guard import guarded_stencils
    from o3d_meshless.sampling.neighbors import knn
    pts = _scan_lines()[:200]
    st = guarded_stencils(knn(pts, 12), None, method="taylor", order=2,
                          targets=[{(2, 0): 1.0, (0, 2): 1.0}], min_order=2)
    assert st.attempts[-1]["fallback"] == 0
    assert not st.fallback.any() and st.failed.all() and np.isfinite(st.weights).all()


def _sphere(n=1200, seed=0):
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def test_lb_spectrum_interpolating_vs_published_centre():
    """Issue 4 item 3: the published LS-centre variant gives an L with hundreds of spurious
    negative / near-zero eigenvalues (shown unguarded: the guard replaces failing rows by
    nonnegative ones); the guarded centre-interpolating default has none."""
    import warnings
    p = _sphere()
    ev = {}
    for centre in ("interpolate", "least-squares"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            op = om.LaplaceBeltrami(k=16, method="orthopoly", centre=centre,
                                    guard=centre == "interpolate").fit(p)
        e = np.linalg.eigvals(op.L_.toarray())
        ev[centre] = e[np.argsort(e.real)]
        assert op.diagnostics_["complete_order"].min() >= 2
    good, bad = ev["interpolate"], ev["least-squares"]
    assert (good.real > -1e-8).all() and abs(good[0]) < 1e-8
    np.testing.assert_allclose(good[1:4].real, 2.0, rtol=0.02)
    assert (np.abs(good) < 1.0).sum() == 1
    assert (bad.real < -1.0).sum() > 100
    assert (np.abs(bad) < 1.0).sum() > 5
    # guarded (the default), the published variant's failing rows become nonnegative
    # M-matrix rows: no spurious negative eigenvalue is left
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        op = om.LaplaceBeltrami(k=16, method="orthopoly", centre="least-squares").fit(p)
    assert op.diagnostics_["positive_rows"] > 100
    assert (np.linalg.eigvals(op.L_.toarray()).real > -1e-8).all()


def test_scattered_orthopoly_and_highest_complete_on_scan_lines():
    x, y = np.meshgrid(np.linspace(0, 1, 60), np.linspace(0, 1, 5))
    q = np.c_[x.ravel(), 0.05 * y.ravel()]
    f = q[:, 0] ** 2 + 3 * q[:, 1] ** 2
    op = om.ScatteredDerivatives(method="orthopoly", order="highest-complete", k=12).fit(q)
    used = op.diagnostics_["order_used"]
    assert set(np.unique(used)) == {2, 3} and op.diagnostics_["n_rank_deficient"] == 0
    np.testing.assert_allclose(op.laplacian(f), 8.0, atol=1e-8)
    # fourth derivatives are unavailable on these rows: NaN, never zero
    assert np.isnan(op.D_[(4, 0)] @ f).all()
    assert (op.diagnostics_["rejected_mask"] > 0).all()
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        t = om.ScatteredDerivatives(method="taylor", order=3, k=12, guard=False).fit(q)
    assert np.abs(t.laplacian(f) - 8).max() > 0.1


def test_scattered_orthopoly_both_centres_and_bad_options():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=(1500, 2))
    f = np.sin(2 * p[:, 0]) * np.cos(p[:, 1])
    ex = np.c_[2 * np.cos(2 * p[:, 0]) * np.cos(p[:, 1]), -np.sin(2 * p[:, 0]) * np.sin(p[:, 1])]
    for centre in (None, "least-squares"):
        op = om.ScatteredDerivatives(method="orthopoly", order=3, centre=centre).fit(p)
        assert np.abs(op.gradient(f) - ex).max() < 2e-3
        assert (op.diagnostics_["complete_order"] == 3).all()
    with pytest.raises(ValueError, match="centre"):
        om.ScatteredDerivatives(method="taylor", centre="interpolate").fit(p)
    with pytest.raises(ValueError, match="centre"):
        om.ScatteredDerivatives(method="orthopoly", centre="both").fit(p)
    with pytest.raises(ValueError, match="order"):
        om.ScatteredDerivatives(method="taylor", order="highest-complete").fit(p)
    with pytest.raises(ValueError, match="bounds"):
        om.ScatteredDerivatives(method="orthopoly", bounds=True).fit(p)
    with pytest.raises(ValueError, match="centre"):
        om.LaplaceBeltrami(method="taylor", centre="least-squares").fit(_sphere(200))


# --- the paper's experiments (examples/seed002_orthopoly.py) ----------------------------
def _example():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "seed002_orthopoly.py"
    spec = importlib.util.spec_from_file_location("seed002_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_section31_rates_and_rejections_2d():
    ex = _example()
    res = ex.section_31(2, 1, n_configs=8, ns=(8, 16, 64))
    for n in (16, 64):
        for order in (2, 3):
            assert res[("f1", order, n)][1] == pytest.approx(4.0, abs=0.01)
        # quartic reproduced exactly by a complete fourth-order fit
        assert res[("f1", 4, n)][0].max() < 1e-12
        assert res[("f3", 2, n)][1] == pytest.approx(3.0, abs=0.2)      # paper: 3.00
    assert res[("f2", 2, 64)][1] == pytest.approx(4.0, abs=0.2)          # paper: 4.00
    assert res[("f3", 3, 64)][1] == pytest.approx(4.8, abs=0.2)          # paper: 4.80
    # 9 points (8 + centre): order 4 has 15 candidates, so at least 6 are rejected
    assert res[("f1", 4, 8)][2] >= 6 and res[("f1", 4, 64)][2] == 0


def test_section31_3d_incomplete_is_nan_and_rejections_fall_with_n():
    ex = _example()
    res = ex.section_31(3, 2, n_configs=8, ns=(8, 32, 128))
    # 9 points cannot carry the 10 quadratic monomials: unavailable, never a number
    assert np.isnan(res[("f2", 2, 8)][0]).all()
    rej = [res[("f1", 4, n)][2] for n in (8, 32, 128)]
    assert rej[0] >= 26 and rej[0] > rej[1] > rej[2] == 0
    assert res[("f2", 2, 128)][1] == pytest.approx(4.0, abs=0.2)         # paper: 4.00
    assert res[("f1", 4, 128)][0].max() < 1e-12


def test_figure3_table5_monomial_sets():
    ex = _example()
    pts, rows = ex.figure3()
    cand4 = [m for m in candidates(4, 2) if sum(m) == 4]
    for n, n_rej, kept4, err in rows:
        # generic points + centre: the first min(N+1, 15) candidates, graded lex order
        assert n_rej == max(0, 15 - (n + 1))
        assert kept4 == cand4[:max(0, min(5, n + 1 - 10))]
    err = {n: e for n, _, _, e in rows}
    # full fourth-order set from N = 14: every N < 14 is worse than 2^-17, every N >= 14 better than 2^-21
    assert max(err[n].max() for n in range(14, 21)) < 2.0 ** -21
    assert min(err[n].max() for n in range(6, 14)) > 2.0 ** -17


def test_example_runs(capsys):
    ex = _example()
    import sys
    argv, sys.argv = sys.argv, ["seed002_orthopoly.py"]
    try:
        ex.main()
    finally:
        sys.argv = argv
    out = capsys.readouterr().out
    assert "kept 1, x1, x2, x1^2, x1x2, x2^2, x1^2x2, x1x2^2, x1^2x2^2" in out
    assert "kept 1, x1, x2, x1^2, x1x2, x1^3" in out
    assert "Table 4: 3-D" in out and "Fig. 3 / Table 5" in out


def test_user_weights_match_weighted_taylor():
    """weights=d: rows scaled by h_j^-(1+d) as in the Taylor method; with the
    interpolating centre and a complete basis the fits coincide."""
    rng = np.random.default_rng(11)
    off = rng.uniform(-1, 1, (15, 2))
    for wts in (0, 2):
        wo = om.stencil_weights(off, method="orthopoly", order=2, weights=wts)
        wt = om.stencil_weights(off, method="taylor", order=2, weights=wts)
        for m in wt:
            np.testing.assert_allclose(wo[m], wt[m], atol=1e-9)
        assert not np.allclose(wo[(2, 0)], om.stencil_weights(off, method="orthopoly")[(2, 0)])
    # the published variant with weights still reproduces quadratics exactly
    w = om.stencil_weights(off, method="orthopoly", order=2, weights=1, centre="least-squares")
    f = 2 + off[:, 0] - off[:, 0] * off[:, 1] + 4 * off[:, 1] ** 2
    assert w[(1, 1)] @ (f - 2) == pytest.approx(-1.0) and w[(0, 2)] @ (f - 2) == pytest.approx(8.0)
