"""Analytic accuracy with measured convergence on spheres, tori and planes."""
import warnings

import numpy as np
import pytest

import o3d_meshless as om
from o3d_meshless.testing import (fibonacci_sphere, observed_order, random_sphere,
                                  sphere_eigenvalue_errors, tangential, torus_grid,
                                  torus_normals)

SAMPLERS = {"fibonacci": fibonacci_sphere, "random": random_sphere}


@pytest.fixture(scope="module")
def sphere_spectra():
    """49 eigenvalues of L on Fibonacci and i.i.d. random spheres of 2000 and 8000 points."""
    out = {}
    for name, gen in SAMPLERS.items():
        for n in (2000, 8000):
            op = om.LaplaceBeltrami().fit(gen(n))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                vals, _ = op.spectrum(49)
            out[name, n] = vals, op
    return out


@pytest.mark.parametrize("sampling", SAMPLERS)
def test_sphere_eigenvalues_converge_at_second_order(sphere_spectra, sampling):
    e_coarse = sphere_eigenvalue_errors(sphere_spectra[sampling, 2000][0])
    e_fine = sphere_eigenvalue_errors(sphere_spectra[sampling, 8000][0])
    order = observed_order(e_coarse, e_fine, 2000, 8000)
    # l = 2 is near-exact on both samplings (errors ~1e-4) so its rate is noise; the rest:
    for l in (1, 3, 4, 5, 6):
        assert order[l - 1] >= 1.6, f"{sampling}: order {order[l - 1]:.2f} for l={l} (E2 {e_coarse} -> {e_fine})"
    assert (e_fine < [3e-3, 1e-3, 4e-3, 8e-3, 1.3e-2, 1.8e-2]).all(), e_fine


@pytest.mark.parametrize("sampling", SAMPLERS)
def test_sphere_spectrum_has_no_negative_eigenvalues(sphere_spectra, sampling):
    for n in (2000, 8000):
        vals, op = sphere_spectra[sampling, n]
        assert vals.min() > -1e-8, f"{sampling} n={n}: min eigenvalue {vals.min()}"
        assert abs(vals[0]) < 1e-8
        assert op.diagnostics_["failed_rows"] == 0


def test_whole_spectrum_is_stable_on_random_points():
    """Dense check of every eigenvalue at a small size: the guard removes the
    negative-real-part eigenvalues that one-sided neighbourhoods create."""
    p = random_sphere(1200, seed=3)
    L = om.LaplaceBeltrami().fit(p).L_.toarray()
    ev = np.linalg.eigvals(L)
    assert ev.real.min() > -1e-8, ev.real.min()
    unguarded = np.linalg.eigvals(om.LaplaceBeltrami(guard=False).fit(p).L_.toarray())
    assert unguarded.real.min() < -1e-3     # the guard is what makes the difference


def test_mass_matrix_measures_sphere_area():
    for p in (fibonacci_sphere(3000), random_sphere(3000, seed=1)):
        M = om.LaplaceBeltrami().fit(p).M_
        np.testing.assert_allclose(M.diagonal().sum(), 4 * np.pi, rtol=0.01)
        assert (M.diagonal() > 0).all()


def test_eigenvectors_are_mass_normalised_spherical_harmonics():
    p = fibonacci_sphere(4000)
    op = om.LaplaceBeltrami().fit(p)
    vals, vecs = op.spectrum(4)
    m = op.M_.diagonal()
    np.testing.assert_allclose(np.einsum("ij,i,ij->j", vecs, m, vecs), 1.0, rtol=1e-10)
    # modes 1..3 span the linear functions x, y, z
    coef, *_ = np.linalg.lstsq(p, vecs[:, 1:4], rcond=None)
    np.testing.assert_allclose(p @ coef, vecs[:, 1:4], atol=2e-3 * np.abs(vecs[:, 1:4]).max())


def _sphere_gradient_error(p, **options):
    f = p[:, 0] * np.exp(p[:, 2])
    exact = tangential(np.c_[np.exp(p[:, 2]), 0 * p[:, 2], p[:, 0] * np.exp(p[:, 2])], p)
    g = om.surface_gradient(p, f, **options)
    return np.sqrt(np.mean(np.sum((g - exact) ** 2, axis=1)))


@pytest.mark.parametrize("sampling", SAMPLERS)
def test_sphere_gradient_second_order_or_better(sampling):
    # the default (order 2): second order; measured 1.99 / 1.96, 2.5e-3 at 8000 points
    gen = SAMPLERS[sampling]
    e1, e2 = _sphere_gradient_error(gen(2000)), _sphere_gradient_error(gen(8000))
    assert observed_order(e1, e2, 2000, 8000) >= 1.8, (e1, e2)
    assert e2 < 4e-3
    # order 3 on exact points: third order; measured 3.4 / 3.0, < 5e-5 at 8000 points
    e1, e2 = (_sphere_gradient_error(gen(n), order=3) for n in (2000, 8000))
    assert observed_order(e1, e2, 2000, 8000) >= 2.5, (e1, e2)
    assert e2 < 1e-4


def test_torus_gradient_second_order_or_better():
    errs, sizes = [], []
    for n_u in (60, 120):
        p = torus_grid(n_u, n_u // 2, jitter=0.6, seed=n_u)
        nrm = torus_normals(p)
        f = p[:, 0] * np.exp(p[:, 2])
        exact = tangential(np.c_[np.exp(p[:, 2]), 0 * p[:, 2], p[:, 0] * np.exp(p[:, 2])], nrm)
        g = om.surface_gradient(p, f, order=3)
        errs.append(np.sqrt(np.mean(np.sum((g - exact) ** 2, axis=1))))
        sizes.append(len(p))
    assert observed_order(errs[0], errs[1], *sizes) >= 2.0, errs


def test_div_grad_matches_minus_laplacian_on_sphere():
    p = fibonacci_sphere(6000)
    f = p[:, 0] * np.exp(p[:, 2])
    L = om.LaplaceBeltrami().fit(p).L_
    div = om.Divergence().fit(p)
    dg = div.D_ @ div.G_ @ f
    Lf = L @ f
    scale = np.abs(Lf).max()
    assert np.sqrt(np.mean((dg + Lf) ** 2)) < 5e-3 * scale


def test_laplacian_of_coordinates_on_sphere():
    # Δ_S x_i = −2 x_i on the unit sphere, so L x_i ≈ 2 x_i, pointwise at second order
    errs = []
    for n in (4000, 16000):
        p = fibonacci_sphere(n)
        L = om.LaplaceBeltrami().fit(p).L_
        errs.append(np.abs(L @ p - 2 * p).max())
    assert errs[1] < 2e-3, errs
    assert observed_order(errs[0], errs[1], 4000, 16000) >= 1.8, errs


def test_plane_linear_is_zero_and_quadratics_exact():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 1, size=(3000, 2))
    # tilted plane in 3-D so the frames are not axis-aligned
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    p = np.c_[xy, np.zeros(len(xy))] @ Q.T
    op = om.LaplaceBeltrami().fit(p)
    # the open boundary is detected at the edge of the square; its rows are Neumann rows,
    # and the few interior rows the guard could not make dominant are nonnegative ones
    boundary = op.diagnostics_["boundary_mask"]
    positive = op.diagnostics_["positive_mask"]
    assert 0 < boundary.sum() < 0.1 * len(p)
    assert (np.abs(xy[boundary]).max(axis=1) > 0.9).all()
    assert (np.abs(xy[positive]).max(axis=1) > 0.8).all()
    # rows left inconsistent even so are corner points of the square
    failed = op.diagnostics_["failed_mask"]
    assert failed.sum() <= 4 and (np.abs(xy[failed]).min(axis=1) > 0.9).all()
    inner = ~boundary & ~positive
    L = op.L_
    np.testing.assert_allclose(L @ np.ones(len(p)), 0.0, atol=1e-9)
    lin = p @ [0.3, -1.2, 0.7] + 2.0
    np.testing.assert_allclose((L @ lin)[inner], 0.0, atol=1e-9)
    quad = xy[:, 0] ** 2 + 3 * xy[:, 1] ** 2 + xy[:, 0] * xy[:, 1]      # Δ = 2 + 6
    np.testing.assert_allclose((L @ quad)[inner], -8.0, atol=1e-8)
    g = om.surface_gradient(p, quad)
    exact = np.c_[2 * xy[:, 0] + xy[:, 1], 6 * xy[:, 1] + xy[:, 0], 0 * xy[:, 0]] @ Q.T
    np.testing.assert_allclose(g, exact, atol=1e-8)


def test_rows_of_L_sum_to_zero():
    for p in (random_sphere(2000), torus_grid(40, 20, jitter=0.5)):
        L = om.LaplaceBeltrami().fit(p).L_
        np.testing.assert_allclose(L @ np.ones(L.shape[0]), 0.0, atol=1e-9 * abs(L).max())


@pytest.mark.slow
@pytest.mark.parametrize("sampling", SAMPLERS)
def test_issue_targets_at_16000_points(sampling):
    """Targets of the core issue: E2(1) <= 1e-3, E2(6) <= 9e-3, no eigenvalue below -1e-8."""
    op = om.LaplaceBeltrami().fit(SAMPLERS[sampling](16000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        vals, _ = op.spectrum(49)
    e = sphere_eigenvalue_errors(vals)
    assert e[0] <= 1e-3 and e[5] <= 9e-3, e
    assert vals.min() > -1e-8
