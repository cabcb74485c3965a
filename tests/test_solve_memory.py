"""The eigen-solve's memory: predicted before it starts, explained when short."""
import pytest

import o3d_meshless as om
from o3d_meshless.operators import solve_memory, sparse_solve
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
    p = random_sphere(2000, seed=0)
    with pytest.raises(MemoryError, match="2000 points with 10 modes"):
        om.spectrum(p, 10, progress=False)
