"""The eigen-solve's memory: predicted before it starts, explained when short."""
import pytest

import o3d_meshless as om
from o3d_meshless.operators import solve_memory, sparse_solve, spectra
from o3d_meshless.testing import random_sphere


def test_prediction_grows_with_points_and_modes():
    small, big = solve_memory.solve_bytes(10**5, 50), solve_memory.solve_bytes(10**6, 50)
    assert 10 < big / small < 12                     # n log n for the LU
    # measured peaks of om.spectrum (over the interpreter), one run each: 1e5 points
    # 375 MB at 50 modes and 816 MB at 200; the prediction is the solve's share
    assert 0.2e9 < small < 0.375e9
    assert 0.7e9 < solve_memory.solve_bytes(10**5, 200) < 0.9e9


def test_available_memory_is_read():
    free = solve_memory.available_bytes()
    assert free is None or free > 0


def test_a_solve_that_cannot_fit_says_what_it_needs(monkeypatch):
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: 1000)
    p = random_sphere(2000, seed=0)
    with pytest.raises(MemoryError, match=r"needs about .* GiB .*fewer modes \(n_modes=5"):
        om.spectrum(p, 10, progress=False)


def test_superlu_running_out_is_explained(monkeypatch):
    # SuperLU's MemoryError is empty ("Can't expand MemType" on stderr only)
    def no_memory(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(sparse_solve, "splu", no_memory)       # what spectra factorises with
    monkeypatch.setattr(spectra, "has_cholesky", lambda: False)   # (when not CHOLMOD)
    p = random_sphere(2000, seed=0)
    with pytest.raises(MemoryError, match="2000 points with 10 modes"):
        om.spectrum(p, 10, progress=False)


def test_cholesky_is_predicted_smaller_and_planned_for(monkeypatch):
    n = 10**6
    lu, chol = solve_memory.solve_bytes(n, 50), solve_memory.solve_bytes(n, 50, cholesky=True)
    assert chol < lu
    # measured with nested dissection (factor, matrix copies and ordering): 0.76 GB,
    # SuperLU's 2.31 GB; the prediction adds the solve's other 0.4 KB per point
    factor = solve_memory.factor_bytes(n, cholesky=True) * n
    assert 0.4e9 < factor < 0.76e9 < factor + solve_memory.SOLVE_BASE_BYTES * n
    assert factor < 0.6 * solve_memory.factor_bytes(n) * n
    # memory between the two predictions: one run with CHOLMOD, slices without it
    monkeypatch.setattr(solve_memory, "available_bytes", lambda: chol)
    assert solve_memory.plan_solve(n, 50, cholesky=True) == (None, chol)
    assert solve_memory.plan_solve(n, 50)[0] is not None


def test_cholesky_running_out_is_explained(monkeypatch):
    pytest.importorskip("cholespy")
    import cholespy

    def no_memory(*args, **kwargs):
        raise MemoryError()
    monkeypatch.setattr(cholespy, "CholeskySolverD", no_memory)
    monkeypatch.setattr(sparse_solve, "splu", no_memory)
    p = random_sphere(2000, seed=0)
    with pytest.raises(MemoryError, match="2000 points with 10 modes"):
        om.spectrum(p, 10, progress=False)
