"""The result of one stencil: derivative weights keyed by multi-index, with diagnostics.

Kept apart from the registry so that method modules can build a
:class:`StencilWeights` for the single-stencil entry without importing the registry.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..sampling.neighbors import SPACING_RANGE

__all__ = ["StencilWeights", "one_stencil", "check_offset_scale"]


class StencilWeights(Mapping):
    """Derivative weights of one stencil, keyed by multi-index.

    ``w[(1, 0)]`` is an array of shape (k,) with ``∂f/∂x₁(x₀) ≈ Σ_j w_j (f_j − f₀)``.
    The centre weight of a derivative is ``-w[alpha].sum()``.

    Attributes
    ----------
    diagnostics : dict
        ``rcond`` (σ_min/σ_max of the design in coordinates scaled to unit radius),
        ``sigma_min_A`` (Turner et al.'s Bound1 ingredient σ₁ of A, or σ̄₁ of WA),
        ``sigma_min_A21`` (Bound2 ingredient σ̂₁ after the Householder reduction),
        ``rank`` (numerical rank of the design) and ``h_max``.
    order : int
    method : str
    """

    def __init__(self, weights, multi_indices, diagnostics, *, order, method):
        self._w = {m: weights[:, i] for i, m in enumerate(multi_indices)}
        self.diagnostics = diagnostics
        self.order = order
        self.method = method

    def __getitem__(self, key):
        return self._w[key if isinstance(key, str) else tuple(key)]

    def __iter__(self):
        return iter(self._w)

    def __len__(self):
        return len(self._w)

    def apply(self, values_diff):
        """Derivatives from neighbour differences ``f_j - f_0`` (shape (k,) or (k, c))."""
        d = np.asarray(values_diff, dtype=np.float64)
        return {m: w @ d for m, w in self._w.items()}

    def __repr__(self):
        keys = ", ".join(str(m) for m in self._w)
        return (f"StencilWeights(method={self.method!r}, order={self.order}, "
                f"k={len(next(iter(self._w.values())))}, derivatives=[{keys}])")


def one_stencil(off):
    """Kernel inputs for a single stencil given its validated (k, d) offsets:
    ``(dist, points, neighbours)`` with the centre as point 0. Rejects zero offsets."""
    dist = np.linalg.norm(off, axis=1)
    if (dist == 0).any():
        j = int(np.flatnonzero(dist == 0)[0])
        raise ValueError(f"`offsets` row {j} is zero: a neighbour coincides with the centre; "
                         "drop it (coincident points carry no derivative information)")
    points = np.vstack([np.zeros((1, off.shape[1])), off])
    nbrs = np.arange(1, len(off) + 1, dtype=np.intp)[None, :]
    return dist, points, nbrs


def check_offset_scale(offsets):
    """Refuse stencils whose size is outside the range the kernels handle in floating
    point (order 4 raises the radius to the 5th power, which over- or underflows beyond it)."""
    off = np.asarray(offsets)
    if off.dtype.kind not in "fiu" or off.ndim != 2 or not off.size:
        return                                   # check_points names the problem
    with np.errstate(all="ignore"):
        radius = float(np.abs(off).max())        # the largest coordinate, within √3
    if np.isfinite(radius) and radius and not SPACING_RANGE[0] <= radius <= SPACING_RANGE[1]:
        raise ValueError(f"`offsets` reach {radius:.3g} from the centre, outside "
                         f"[{SPACING_RANGE[0]:g}, {SPACING_RANGE[1]:g}]: multiply them by a "
                         f"constant s first (the weights of a derivative of order q then "
                         f"scale by s**q)")
