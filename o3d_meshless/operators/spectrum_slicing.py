"""Many eigenpairs of the symmetric pencil ``K v = λ M v`` in slices of the spectrum.

One shift-invert Lanczos run for ``n_modes`` eigenpairs keeps ``1.5 n_modes + 1`` basis
vectors (:func:`~o3d_meshless.operators.solve_memory.lanczos_vectors`): at 200 modes,
301 vectors (2.4 KB per point), more than the LU factor.
:func:`sliced_eigenpairs` runs Lanczos for ``slice_modes`` eigenpairs around one shift
after another, each shift with its own factorisation of ``K − σM``, so its basis is
that of one slice; the price is a factorisation per slice. Measured on 1e6 sphere
points, 200 modes, one process each (peak with the build): one run 489 s and 8.0 KiB
per point (SciPy's basis of 2k + 1; 540 s and 7.2 KiB with 1.5k + 1), slices of 60 836
s and 5.8 KiB per point. So the spectrum takes slices only
when one run would not fit in the memory available
(:func:`o3d_meshless.operators.solve_memory.plan_solve`, which also picks the largest
slice that fits). Each run keeps only the window it can vouch for:

* a run returns the ``m`` eigenvalues nearest its shift ``σ``; with ``R`` the distance
  of the farthest one, **every** eigenvalue in ``(σ − R, σ + R)`` is among them (an
  eigenvalue left out is at least ``R`` away). Only values below ``σ + (1 − δ) R`` are
  kept (``δ = EDGE``: a group of equal eigenvalues at the window's edge may be cut in
  two), and the next run must reach down to the last one kept: its ``σ − (1 − δ) R``
  at or below the previous cut, else it is run again with the shift moved down
  (``coverage_retries`` counts those);
* the next shift is placed from the eigenvalue density just measured (Weyl's law: on a
  surface the eigenvalues grow about linearly with their index) so that the new window
  overlaps the old one by about 15 % (``STEP``).

Each window is :func:`lanczos_near`, the shift-invert Lanczos call that one run
(:func:`o3d_meshless.operators.spectra.eigenpairs`) makes too.

So no eigenvalue between the cuts is missed or counted twice (up to the Lanczos
convergence tolerance, as for one run), and the kept eigenvectors of different windows
belong to different eigenvalues, M-orthogonal as the quality report checks.

When CHOLMOD's Cholesky is available (optional cholespy), the spectrum takes
:func:`locked_eigenpairs` instead: every slice uses the one factor of ``K − σM`` below
the spectrum (a shift inside it would make the matrix indefinite, which a Cholesky
factor cannot take), and works on the M-orthogonal complement of the eigenvectors
already found, where the next eigenvalues up are the dominant ones. One factorisation,
a third of SuperLU's memory, for all slices. At 1e6 points and 200 modes (peak with the
build, other work on the cores): slices of 60, 4.62 KiB per point in 1 019 s; of 30, 3.76
KiB in 2 138 s.
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import linalg as sla

from .solve_memory import lanczos_vectors

__all__ = ["sliced_eigenpairs", "locked_eigenpairs", "lanczos_near", "SLICE_MODES"]

#: eigenpairs per Lanczos run (basis 1.5 × SLICE_MODES + 1 vectors)
SLICE_MODES = 60
#: the window's outer part that is not kept (relative to its half-width): room for a
#: group of equal eigenvalues cut by the window's edge
EDGE = 0.02
#: the next shift: the last cut plus this fraction of the expected window width
#: (the windows overlap by about 0.5 − STEP of a window)
STEP = 0.35
#: at most this many runs again per slice when a window does not reach the last cut
MAX_RETRIES = 4


def sliced_eigenpairs(K, M, n_modes, sigma, factor, *, slice_modes=SLICE_MODES,
                      note=None):
    """The ``n_modes`` smallest eigenpairs of ``K v = λ M v``, slice by slice.

    Parameters
    ----------
    K, M : sparse matrices of shape (n, n)
        Symmetric; ``M`` positive definite; every eigenvalue above ``sigma``.
    n_modes : int
    sigma : float
        The first shift, below the smallest eigenvalue.
    factor : callable
        ``factor(A)`` returns an object whose ``solve(b)`` solves ``A x = b``.
    slice_modes : int, default=SLICE_MODES
        Eigenpairs per Lanczos run.
    note : callable, optional
        ``note(text)`` receives progress ("slice 2, 45 solves").

    Returns
    -------
    vals : ndarray of shape (n_modes,)
        Ascending.
    vecs : ndarray of shape (n, n_modes)
    info : dict
        ``slices`` (Lanczos runs kept), ``coverage_retries``, ``solves``.
    """
    n = K.shape[0]
    m = int(min(slice_modes, n - 2))
    vals_out = np.empty(n_modes)
    vecs_out = np.empty((n, n_modes))   # filled in place: no concatenated copy at the end
    count = 0
    cut = -np.inf                     # eigenvalues up to here are all found
    shift = float(sigma)
    info = {"slices": 0, "coverage_retries": 0, "solves": 0}
    v0 = np.random.default_rng(0).standard_normal(n)
    empty = 0                         # windows in a row that found nothing new
    width = 0.0
    while count < n_modes:
        for attempt in range(MAX_RETRIES + 1):
            vals, vecs = _window(K, M, m, shift, factor, v0, info, note)
            reach = float(np.max(np.abs(vals - shift))) * (1.0 - EDGE)
            if not np.isfinite(cut) or shift - reach <= cut:
                break
            # the window does not reach down to the last cut: move the shift down to
            # where a window as wide would
            info["coverage_retries"] += 1
            shift = cut + 0.8 * reach
        else:
            raise RuntimeError(f"the spectrum slice at shift {shift:.6g} does not reach "
                               f"down to the eigenvalues already found ({cut:.6g}); "
                               "ask for fewer modes, or free memory for one Lanczos run")
        keep = np.flatnonzero((vals > cut) & (vals < shift + reach))
        # none new: (cut, shift + reach) holds no eigenvalue (all within reach came
        # back); a run of such windows means a group of more than m nearly equal ones
        empty = empty + 1 if not len(keep) else 0
        if empty > MAX_RETRIES:
            raise RuntimeError(f"the spectrum slices near {shift:.6g} find no new "
                               f"eigenvalues: more than {m} nearly equal ones there? "
                               "Ask for fewer modes, or free memory for one Lanczos run")
        keep = keep[np.argsort(vals[keep], kind="stable")][:n_modes - count]
        vals_out[count:count + len(keep)] = vals[keep]
        vecs_out[:, count:count + len(keep)] = vecs[:, keep]
        count += len(keep)
        info["slices"] += 1
        del vecs
        # a window of m eigenvalues: the first spans them from the bottom, the others
        # are centred on their shift
        width = float(vals.max() - vals.min()) * m / max(m - 1, 1) if not np.isfinite(cut) \
            else max(2.0 * reach, width if empty else 0.0)
        cut = shift + reach
        shift = cut + STEP * width
    return vals_out, vecs_out, info


def locked_eigenpairs(K, M, n_modes, sigma, lu, *, slice_modes=SLICE_MODES, note=None):
    """The ``n_modes`` smallest eigenpairs of ``K v = λ M v``, ``slice_modes`` at a time,
    all with one factorisation ``lu`` of ``K − σM`` (``σ`` below the spectrum).

    Each Lanczos run works on the M-orthogonal complement of the eigenvectors already
    found (they are *locked*: every solve's result is M-projected off them), where the
    largest ``θ = 1/(λ − σ)`` belong to the next eigenvalues up. A group of equal
    eigenvalues cut by one run's last mode is completed by the next, since its rest are
    then the largest ``θ`` left. Unlike :func:`sliced_eigenpairs` no shift moves into the
    spectrum, so ``K − σM`` stays positive definite and a Cholesky factor serves every
    run; the price is the projection, two products with the ``n × found`` eigenvectors
    per solve.

    Parameters
    ----------
    K, M : sparse matrices of shape (n, n)
        Symmetric; ``M`` positive definite; every eigenvalue above ``sigma``.
    n_modes : int
    sigma : float
        The shift, below the smallest eigenvalue.
    lu : object
        ``lu.solve(b)`` solves ``(K − σM) x = b``.
    slice_modes : int, default=SLICE_MODES
    note : callable, optional

    Returns
    -------
    vals : ndarray of shape (n_modes,)
        Ascending.
    vecs : ndarray of shape (n, n_modes)
    info : dict
        ``slices`` (Lanczos runs), ``solves``.
    """
    n = K.shape[0]
    m = int(min(slice_modes, n - 2))
    vals_out = np.empty(n_modes)
    vecs_out = np.empty((n, n_modes))
    info = {"slices": 0, "solves": 0}
    start = np.random.default_rng(0).standard_normal(n)
    count = 0
    while count < n_modes:
        k = int(min(m, n_modes - count))
        locked = _Locked(lu, vecs_out[:, :count], M)
        vals, vecs = lanczos_near(K, M, k, sigma, locked, locked.project(start.copy()),
                                  count=info, note=note,
                                  label=f"slice {info['slices'] + 1}, ")
        order = np.argsort(vals, kind="stable")
        if count and vals[order[0]] < vals_out[count - 1] * (1 - 1e-6) - 1e-12:
            raise RuntimeError("a spectrum slice found an eigenvalue below those already "
                               f"found ({vals[order[0]]:.6g} < {vals_out[count - 1]:.6g}); "
                               "ask for fewer modes, or free memory for one Lanczos run")
        vals_out[count:count + k] = vals[order]
        vecs_out[:, count:count + k] = vecs[:, order]
        count += k
        info["slices"] += 1
        del vecs
    return vals_out, vecs_out, info


class _Locked:
    """``solve`` of ``K − σM`` followed by the M-projection off the locked vectors."""

    def __init__(self, lu, locked, M):
        self.lu, self.locked, self.M = lu, locked, M

    def project(self, y):
        if self.locked.shape[1]:
            y -= self.locked @ (self.locked.T @ (self.M @ y))
        return y

    def solve(self, b):
        return self.project(np.asarray(self.lu.solve(b), dtype=np.float64))


def _window(K, M, m, shift, factor, v0, info, note):
    """The ``m`` eigenpairs nearest ``shift``, with a factorisation of its own."""
    return lanczos_near(K, M, m, shift, factor(K - shift * M), v0, count=info, note=note,
                        label=f"slice {info['slices'] + 1}, ")


def lanczos_near(K, M, k, shift, lu, v0, *, count=None, note=None, label=""):
    """The ``k`` eigenpairs of ``K v = λ M v`` nearest ``shift``: shift-invert Lanczos
    (ARPACK) with ``lu`` a factorisation of ``K − shift M`` and the basis of
    :func:`~o3d_meshless.operators.solve_memory.lanczos_vectors`.

    ``count["solves"]`` (a new counter when None) counts the solves, and ``note``
    receives ``f"{label}{solves} solves"`` after each.
    """
    n = K.shape[0]
    count = {"solves": 0} if count is None else count

    def solve(x):                       # each Lanczos step is one solve: count them
        count["solves"] += 1
        if note is not None:
            note(f"{label}{count['solves']} solves")
        return lu.solve(x)

    op = sla.LinearOperator((n, n), matvec=solve, dtype=np.float64)
    return sla.eigsh(K, k=k, M=M, sigma=shift, which="LM", v0=v0, OPinv=op,
                     ncv=lanczos_vectors(n, k))
