"""Noisy point clouds moved onto their local surface fits, before any operator is built.

:func:`project_to_surface` repeats one step: every point moves along its estimated normal
onto the quadric fitted to its ``k`` nearest neighbours (the point itself left out, see
:func:`o3d_meshless.sampling.outliers.surface_fit`). Noise of standard deviation σ leaves about
``σ √(6/k)`` per step; only normal moves are made, so the spread of the points over the
surface is kept. :func:`o3d_meshless.prepare` runs it for ``denoise="auto"`` or True;
:func:`o3d_meshless.denoise_points` is the public tool with Gaussian-weighted fits.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_int
from .frames import estimated_frames
from .cloud_sheets import sheet_knn
from .outliers import surface_fit

__all__ = ["project_to_surface"]


def project_to_surface(points, *, k=16, iterations=5, n_threads=1, sheets=True):
    """Move each point along its normal onto its neighbours' quadric, ``iterations`` times.

    Parameters
    ----------
    points : ndarray of shape (n, 3)
    k : int, default=16
        Neighbours per fit (at least 10). Larger fits reach further and bend less with
        the surface: over 40 neighbours the noisy ellipsoid's spectrum stayed 10× worse.
    iterations : int, default=5
    n_threads : int, default=1
    sheets : bool, default=True
        Keep each fit to its point's own sheet (:mod:`o3d_meshless.sampling.cloud_sheets`): two
        sheets closer than a neighbourhood must not be pulled together.

    Returns
    -------
    ndarray of shape (n, 3)
        The moved points, in input order (coincident points move together).

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.sampling.denoise import project_to_surface
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(4000, seed=0)
    >>> noisy = p * (1 + 0.01 * np.random.default_rng(1).standard_normal((4000, 1)))
    >>> q = project_to_surface(noisy)
    >>> err = lambda x: float(np.sqrt(np.mean((np.linalg.norm(x, axis=1) - 1) ** 2)))
    >>> bool(err(q) < err(noisy) / 2)               # measured 0.0100 -> 0.0037
    True
    """
    k = check_int(k, name="k", low=10)
    iterations = check_int(iterations, name="iterations", low=0)
    moved = np.array(points, dtype=np.float64, copy=True)
    for _ in range(iterations):
        nb, _, _ = sheet_knn(moved, min(k, len(moved) - 1), n_threads=n_threads,
                          separate=sheets)
        fit = surface_fit(nb.points, nb.indices, n_threads=n_threads)
        frames, _, _ = estimated_frames(nb.points, nb.indices, n_threads=n_threads)
        # the fit's height at the point's foot is -offset; never move further than the
        # neighbourhood's RMS radius in one step (a one-sided fit can extrapolate far)
        step = np.clip(np.where(fit.status == 0, -fit.offset, 0.0), -fit.radius, fit.radius)
        normal = frames[:, 2]
        moved = np.ascontiguousarray(nb.expand(nb.points + step[:, None] * normal))
    return moved
