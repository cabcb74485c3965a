"""Spectra of many modes computed in slices (operators.spectrum_slicing)."""
import numpy as np
import pytest
from scipy import linalg

import o3d_meshless as om
from o3d_meshless.operators import solve_memory, spectra, spectrum_slicing
from o3d_meshless.operators.sparse_solve import symmetric_lu
from o3d_meshless.operators.spectrum_slicing import locked_eigenpairs, sliced_eigenpairs
from o3d_meshless.testing import random_ellipsoid, random_sphere


def _pencil(points):
    op = om.LaplaceBeltrami(form="weak", progress=False).fit(points)
    return op.K_.tocsc(), op.mass_.tocsc()


@pytest.fixture(scope="module")
def sphere():
    """The sphere's spectrum comes in groups of 2l + 1 nearly equal eigenvalues: the
    hard case for windows whose edges may cut a group."""
    K, M = _pencil(random_sphere(1500, seed=3))
    return K, M, linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)


def _check(vals, vecs, M, exact):
    n_modes = len(vals)
    assert np.all(np.diff(vals) >= 0)
    # every eigenvalue once: none missed, none twice (a miss shifts all that follow)
    assert np.allclose(vals, exact[:n_modes], rtol=1e-8, atol=1e-8)
    assert np.abs(vecs.T @ (M @ vecs) - np.eye(n_modes)).max() < 1e-8


@pytest.mark.parametrize("slice_modes", [12, 25, 40])
def test_slices_give_every_eigenvalue_once_on_the_sphere(sphere, slice_modes):
    K, M, exact = sphere
    vals, vecs, info = sliced_eigenpairs(K, M, 90, -1.0 / M.sum(), symmetric_lu,
                                         slice_modes=slice_modes)
    _check(vals, vecs, M, exact)
    assert info["slices"] >= 90 // slice_modes
    assert info["solves"] > 0


@pytest.mark.parametrize("slice_modes", [12, 25, 40])
def test_locked_slices_give_every_eigenvalue_once_on_the_sphere(sphere, slice_modes):
    # one factor below the spectrum for every slice; slices of 12 and 25 cut the
    # groups of 2l + 1 (l = 3, 4, ...) in two, which the next slice must complete
    K, M, exact = sphere
    sigma = -1.0 / M.sum()
    vals, vecs, info = locked_eigenpairs(K, M, 90, sigma, symmetric_lu(K - sigma * M),
                                         slice_modes=slice_modes)
    _check(vals, vecs, M, exact)
    assert info["slices"] == -(-90 // slice_modes)


def test_locked_slices_on_a_cholesky_factor(sphere):
    pytest.importorskip("cholespy")
    from o3d_meshless.operators.sparse_solve import cholesky
    K, M, exact = sphere
    sigma = -1.0 / M.sum()
    vals, vecs, _ = locked_eigenpairs(K, M, 60, sigma, cholesky(K - sigma * M),
                                      slice_modes=20)
    _check(vals, vecs, M, exact)


def test_a_window_that_misses_the_last_cut_is_run_again(sphere, monkeypatch):
    K, M, exact = sphere
    monkeypatch.setattr(spectrum_slicing, "STEP", 1.5)     # shifts far beyond the cut
    vals, vecs, info = sliced_eigenpairs(K, M, 60, -1.0 / M.sum(), symmetric_lu,
                                         slice_modes=20)
    assert info["coverage_retries"] > 0
    _check(vals, vecs, M, exact)


def test_a_window_that_never_reaches_the_cut_raises(sphere, monkeypatch):
    K, M, _ = sphere
    monkeypatch.setattr(spectrum_slicing, "STEP", 1.5)
    monkeypatch.setattr(spectrum_slicing, "MAX_RETRIES", 0)
    with pytest.raises(RuntimeError, match="fewer modes"):
        sliced_eigenpairs(K, M, 60, -1.0 / M.sum(), symmetric_lu, slice_modes=20)


def test_the_spectrum_takes_slices_when_one_run_would_not_fit(monkeypatch):
    """Through ``om.spectrum``: with the memory made short (between the predictions of
    slices and of one run) the modes come in slices, equal to the dense solution on an
    ellipsoid; with enough memory, one run."""
    points = random_ellipsoid(1200, seed=2)
    K, M = _pencil(points)
    n = K.shape[0]
    exact = linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)
    spy = _Spy(sliced_eigenpairs)
    monkeypatch.setattr(spectra, "sliced_eigenpairs", spy)
    monkeypatch.setattr(spectra, "has_cholesky", lambda: False)   # LU's predictions
    # room for slices of about 30 of the 70 modes, not for one run
    short = solve_memory.solve_bytes(n, 70, slice_modes=30)
    assert short < solve_memory.solve_bytes(n, 70)
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: short)
    result = om.spectrum(points, n_modes=70, form="weak", progress=False)
    assert spy.calls == 1 and spy.slice_modes == 30
    assert np.allclose(result.values, exact[:70], rtol=1e-8, atol=1e-8)
    assert result.report.orthogonality_defect < 1e-8 and result.report.n_negative == 0
    # enough memory: one Lanczos run, the same eigenvalues
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: None)
    again = om.spectrum(points, n_modes=70, form="weak", progress=False)
    assert spy.calls == 1
    assert np.allclose(again.values, result.values, rtol=1e-9, atol=1e-9)


def test_with_cholesky_the_spectrum_takes_locked_slices(monkeypatch):
    """With CHOLMOD the slices share one factor below the spectrum (locked slices)."""
    pytest.importorskip("cholespy")
    points = random_ellipsoid(1200, seed=2)
    K, M = _pencil(points)
    n = K.shape[0]
    exact = linalg.eigh(K.toarray(), M.toarray(), eigvals_only=True)
    calls = []
    real = spectrum_slicing.locked_eigenpairs

    def spy(*args, **kwargs):
        calls.append(kwargs["slice_modes"])
        return real(*args, **kwargs)

    monkeypatch.setattr(spectra, "locked_eigenpairs", spy)
    short = solve_memory.solve_bytes(n, 70, slice_modes=30, cholesky=True)
    assert short < solve_memory.solve_bytes(n, 70, cholesky=True)
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: short)
    result = om.spectrum(points, n_modes=70, form="weak", progress=False)
    assert calls == [30]
    assert np.allclose(result.values, exact[:70], rtol=1e-8, atol=1e-8)
    assert result.report.orthogonality_defect < 1e-8 and result.report.n_negative == 0


def test_too_little_memory_even_for_slices_says_how_much(monkeypatch):
    n = 10**6
    monkeypatch.setattr(solve_memory, "available_bytes",
                        lambda: solve_memory.solve_bytes(n, 200, slice_modes=10))
    with pytest.raises(MemoryError, match="200 modes needs about"):
        solve_memory.plan_solve(n, 200)
    # fewer modes than the smallest slice: no slicing, the same advice
    monkeypatch.setattr(solve_memory, "available_bytes",
                        lambda: solve_memory.solve_bytes(n, 15) - 1)
    with pytest.raises(MemoryError, match="15 modes"):
        solve_memory.plan_solve(n, 15)


class _Spy:
    def __init__(self, fn):
        self.fn, self.calls, self.slice_modes = fn, 0, None

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.slice_modes = kwargs["slice_modes"]
        return self.fn(*args, **kwargs)


def test_slices_are_predicted_to_need_less_memory(monkeypatch):
    n = 1_000_000
    one_run = solve_memory.solve_bytes(n, 200)
    sliced = solve_memory.solve_bytes(n, 200, slice_modes=60)
    lu_and_base = solve_memory.solve_bytes(n, 0)
    assert one_run - lu_and_base == n * solve_memory.BYTES_PER_MODE * 200
    # one slice's basis and vectors, plus 8 bytes per kept mode and point
    assert sliced - lu_and_base == n * (solve_memory.SLICE_BYTES_PER_MODE * 60 + 8 * 200)
    # the plan: one run when it fits, else the largest slice that fits
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: one_run)
    assert solve_memory.plan_solve(n, 200) == (None, one_run)
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: sliced + n)
    assert solve_memory.plan_solve(n, 200) == (60, sliced)
