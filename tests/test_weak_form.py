"""The symmetric weak form (``form="weak"``): structure, accuracy, real inputs.

Structure (symmetry, sign pattern, K·1 = 0, PSD, one zero per piece) holds by
construction and is checked exactly; accuracy against analytic spectra (sphere
``l(l+1)``, the ellipsoid reference, Neumann disc/hemisphere) and convergence order are
measured; real scans must give no negative eigenvalue and M-orthonormal modes.
"""
from pathlib import Path

import numpy as np
import pytest
from scipy import linalg

import o3d_meshless as om
from o3d_meshless.testing import (fibonacci_sphere, observed_order, random_ellipsoid,
                                  random_sphere, sphere_eigenvalue_errors)

from test_boundary import disc_neumann_eigenvalues, iid_disc, iid_hemisphere

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _structure(K, M):
    K = K.tocsr()
    scale = abs(K).max()
    assert abs(K - K.T).max() <= 1e-12 * scale
    off = K.copy()
    off.setdiag(0)
    assert off.max() <= 0                                # nonpositive couplings
    assert np.abs(K @ np.ones(K.shape[0])).max() <= 1e-12 * scale
    m = M.diagonal()
    assert (m > 0).all() and M.count_nonzero() == len(m)     # diagonal, positive


def test_structure_and_null_space():
    """Symmetric to round-off, PSD (smallest eigenvalue ≥ −1e-10 λ_max), one zero per
    connected piece: two separate spheres give exactly two."""
    p = random_sphere(700, seed=3)
    two = np.vstack([p, p * 0.5 + [5.0, 0, 0]])
    for pts, pieces in ((p, 1), (two, 2)):
        K, M = om.laplace_beltrami(pts, form="weak")
        _structure(K, M)
        vals = linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)
        assert vals[0] >= -1e-10 * vals[-1]
        assert np.count_nonzero(vals < 1e-9 * vals[-1]) == pieces


def test_sphere_targets_and_convergence():
    """Unit sphere, 16 000 points: i.i.d. E2(1) ≤ 2e-3, E2(6) ≤ 1e-2; Fibonacci
    E2(1) ≤ 1e-3, E2(6) ≤ 1e-2 (robust-laplacian: ~6e-2 on i.i.d.). Observed order
    ≥ 1.5 between 4 000 and 16 000 i.i.d. points; M-orthonormal eigenvectors."""
    errors = {}
    for n in (4000, 16000):
        result = om.spectrum(random_sphere(n), 49)
        errors[n] = sphere_eigenvalue_errors(result.values)
        assert result.report.n_negative == 0 and result.report.symmetric
        assert result.report.orthogonality_defect <= 1e-8
    assert errors[16000][0] <= 2e-3 and errors[16000][5] <= 1e-2, errors[16000]
    order = observed_order(errors[4000], errors[16000], 4000, 16000)
    assert (order[1:] >= 1.5).all(), order
    fib = sphere_eigenvalue_errors(om.spectrum(fibonacci_sphere(16000), 49).values)
    assert fib[0] <= 1e-3 and fib[5] <= 1e-2, fib


def test_ellipsoid_reference():
    """20 000 i.i.d. area-uniform points on the (1, 0.6, 0.3) ellipsoid: modes 1–30
    within 0.5 % on average of the converged reference (issue target 1 %)."""
    path = DATA / "ellipsoid_lb_eigenvalues.txt"
    if not path.is_file():
        pytest.skip("needs ../shared/data/ellipsoid_lb_eigenvalues.txt")
    ref = np.loadtxt(path)[:31]
    vals = om.spectrum(random_ellipsoid(20000), 31).values
    rel = np.abs(vals[1:] / ref[1:] - 1)
    assert rel.mean() <= 5e-3 and rel.max() <= 2e-2, rel


@pytest.mark.parametrize("shape", ["disc", "hemisphere"])
def test_open_surfaces_neumann(shape):
    """Open boundaries get the natural (Neumann) condition: 10 000 i.i.d. points, first
    10 nonzero eigenvalues within 2.5 % (disc: Bessel j'_{m,n}²; hemisphere: l(l+1),
    harmonics even in z)."""
    if shape == "disc":
        p, ref = iid_disc(10000), disc_neumann_eigenvalues(10)
    else:
        p, ref = iid_hemisphere(10000), np.array([2, 2, 6, 6, 6, 12, 12, 12, 12, 20.0])
    vals = om.spectrum(p, 11).values
    assert abs(vals[0]) < 1e-8
    assert np.abs(vals[1:] / ref - 1).max() < 0.025


def test_coincident_copies_keep_the_spectrum():
    """Every point twice: the copies are tied, the low spectrum is the single cloud's."""
    p = random_sphere(1500, seed=4)
    single = om.spectrum(p, 9).values
    K, M = om.laplace_beltrami(np.vstack([p, p]), form="weak")
    _structure(K, M)
    doubled = linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)[:9]
    assert np.allclose(doubled, single, atol=1e-8, rtol=1e-8)
    assert abs(M.sum() - 4 * np.pi) < 0.05 * 4 * np.pi


def test_options_that_belong_to_the_strong_form_are_refused():
    p = random_sphere(300)
    with pytest.raises(ValueError, match="`order`.*form='strong'"):
        om.LaplaceBeltrami(form="weak", order=3).fit(p)
    with pytest.raises(ValueError, match="`method`"):
        om.laplace_beltrami(p, form="weak", method="clsgsp")
    with pytest.raises(ValueError, match="`form`"):
        om.LaplaceBeltrami(form="mixed").fit(p)
    # a stencil option without `form` selects the strong form in spectrum()
    assert om.spectrum(p, 4, order=3).report.symmetric is False
    assert om.spectrum(p, 4).report.symmetric is True


@pytest.mark.parametrize("name", ["bun000.ply", "bun_zipper.ply", "cow.obj"])
def test_real_inputs_have_no_negative_eigenvalue(name):
    """Real inputs (the raw open range scan, the bunny with holes, the cow with its
    pinch vertex): 50 modes, none negative, M-orthonormal to 1e-8."""
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/{name}")
    from o3d_meshless.io import read_geometry

    geometry = read_geometry(path)
    op = om.LaplaceBeltrami(form="weak").fit(geometry)
    _structure(op.K_, op.M_)
    result = op.spectrum(50)
    assert result.report.n_negative == 0
    assert result.report.orthogonality_defect <= 1e-8
    assert result.values[0] >= -1e-10 * result.values[-1]


def test_voronoi_cells_refuse_bad_conormals():
    """The boundary cut's conormals are checked before the compiled kernel sees them."""
    from o3d_meshless.assembly import voronoi_cells

    s = om.prepare(random_sphere(300))
    nb, frames = s.neighborhoods, s.frames
    for bad in (np.zeros((299, 2)), np.zeros((300, 3)), np.full((300, 2), np.nan)):
        with pytest.raises(ValueError, match="`conormals`"):
            voronoi_cells(nb, frames, conormals=bad)
    # zero conormals cut nothing: the same cells as without
    a0, _, d0 = voronoi_cells(nb, frames)
    a1, _, d1 = voronoi_cells(nb, frames, conormals=np.zeros((300, 2)))
    assert np.array_equal(a0, a1) and abs(d0 - d1).max() == 0
