"""The result of :func:`o3d_meshless.solve_surface_poisson` (its own module: the solver's
module is full)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..operators.laplacian import LaplaceBeltrami

__all__ = ["SurfacePoissonResult"]


@dataclass
class SurfacePoissonResult:
    """Solution of :func:`solve_surface_poisson` (arrays in input order).

    Attributes
    ----------
    u : ndarray of shape (n,)
        The solution. On every piece without a Dirichlet point its M-weighted mean is 0;
        at Dirichlet points it equals ``boundary_values``.
    residual : float
        ``‖A u − b‖∞ / ‖b‖∞`` over the solved rows, with ``A`` the rows solved (see
        ``rows``) and ``b`` the right-hand side after the mean of ``f`` was removed:
        round-off times the condition number (unit sphere: about 1e-13 at 2 000 points,
        1e-11 to 1e-10 at 32 000) unless the solve failed.
    n_pieces : int
        Connected pieces of the operator's graph.
    boundary : ndarray of shape (m,), int
        Indices of the points that carried Dirichlet values (empty: none).
    f_mean : ndarray of shape (n_pieces,)
        The constant removed from ``f`` on each piece (the M-weighted mean for the weak
        form); 0 on pieces holding a Dirichlet point.
    labels : ndarray of shape (n,), int
        Piece of each point.
    form : str
        ``"weak"`` or ``"strong"``.
    rows : str
        The rows solved: ``"symmetric"`` (``K``), ``"own-cell"`` (weak-form Dirichlet
        problems: each point's own Voronoi cell, see the module notes) or ``"strong"``.
    operator : LaplaceBeltrami
        The fitted operator (pass it as ``geometry`` to solve again without refitting).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(2000, seed=0)
    >>> res = om.solve_surface_poisson(p, -6 * p[:, 2])     # Δ_S z = −2z, so u = 3z
    >>> res.n_pieces, res.form, res.rows, res.boundary.size
    (1, 'weak', 'symmetric', 0)
    >>> bool(np.abs(res.u - 3 * p[:, 2]).max() < 0.05), bool(res.residual < 1e-10)
    (True, True)
    """

    u: np.ndarray
    residual: float
    n_pieces: int
    boundary: np.ndarray
    f_mean: np.ndarray
    labels: np.ndarray = field(repr=False)
    form: str = "weak"
    rows: str = "symmetric"
    operator: LaplaceBeltrami = field(default=None, repr=False)
