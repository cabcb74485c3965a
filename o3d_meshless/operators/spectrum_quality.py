"""The quality report of a computed eigenvalue window, and the result that carries it.

:class:`SpectrumReport`: negative eigenvalues (spurious modes), the largest imaginary
part, the M-orthogonality defect, the zero eigenvalues (one per piece), the outliers
excluded and the noise level of the input, and whether the window is
:attr:`~SpectrumReport.trustworthy` (with the reason and the fix when not).
:class:`SpectrumResult` is the ``(values, vectors)`` pair that :func:`o3d_meshless.spectrum`
returns, with ``.report``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from .._typing import ArrayLike

__all__ = ["spectrum_report", "SpectrumReport", "SpectrumResult", "NEGATIVE_RTOL",
           "IMAG_RTOL", "NOISE_MAX", "DENOISED_NOISE_MAX", "COARSE_MAX"]

#: an eigenvalue counts as negative below ``-NEGATIVE_RTOL * max(1, max |Re λ|)``
NEGATIVE_RTOL = 1e-8
#: imaginary parts above ``IMAG_RTOL * max(1, max |Re λ|)`` are reported as large
IMAG_RTOL = 1e-3
#: above this noise level (median RMS distance of the neighbours from their fitted
#: surface, in spacings) the eigenvalues are not trusted: on the 20 000-point ellipsoid,
#: Gaussian noise of 0.05 / 0.2 spacings (measured level 0.047 / 0.18) moves modes 1–30
#: by 0.22 / 2.6 % without denoising
NOISE_MAX = 0.15
#: the same for a sampling too coarse for its shape (the scatter grows with the
#: neighbourhood): cow.off 0.28 (10 % off FEM), bunny.off 0.17 (0.6 %), Spot 0.05 (0.7 %)
COARSE_MAX = 0.25
#: … and above this level even after denoising (measured level 0.38 at noise 0.5 h: the
#: denoised ellipsoid is then 0.08 % off)
DENOISED_NOISE_MAX = 0.5
#: the printed report names the noise level from this level on (or when denoised)
NOISE_SHOWN = 0.03
#: above this share of points whose neighbourhoods still hold another sheet after the
#: sheet split, the eigenvalues are not trusted. Measured shares: concentric spheres
#: 2000 points each 0.04 / 0.06 apart 59 / 18 % (98 / 81 % off), 0.1 apart 0.03 %
#: (0.3 %); clean flat ellipsoids (1, 0.7, 0.05 or 0.1), 2000 points, 13-16 %, 8000
#: points 5-7 %; vertex clouds: cows 17-18 % (8.5 % off FEM), bunny.off 10 % (1.0 %),
#: bun_zipper_res3 10 %, Spot 3.5 % (0.8 %); bun000 0.1 %
SHEETS_UNRESOLVED_MAX = 0.12


@dataclass(frozen=True)
class SpectrumReport:
    """Quality report of a computed eigenvalue window.

    ``str(report)`` gives three short lines meant to be printed under an eigenvalue
    table (the ``o3d-meshless spectrum`` command does so).

    Attributes
    ----------
    n_modes : int
        Number of eigenpairs in the window.
    n_negative : int
        Eigenvalues with real part below ``-tol``, ``tol = 1e-8 * max(1, max |Re λ|)``
        over the window (so the zero eigenvalue of a closed surface, computed as
        ``±1e-12``, is not counted). ``L`` approximates ``−Δ_S``, whose eigenvalues are
        ``≥ 0``: a negative one is a spurious mode, not a mode of the surface; it comes
        from stencils that failed (see ``diagnostics_['failed_mask']``).
    min_real : float
        Smallest real part in the window.
    max_abs_real : float
        Largest ``|Re λ|`` in the window (the scale of the tolerances).
    max_imag : float
        Largest ``|Im λ|`` in the window (``L`` is not symmetric, so eigenvalues may
        come in complex pairs; the real parts are returned).
    orthogonality_defect : float
        ``max |VᵀMV − I|`` over the returned real, M-normalised eigenvectors. The strong
        form is not symmetric, so this is not 0: ~1e-2 between well-separated
        eigenvalues on a good cloud, but up to ~1 inside a cluster of nearly equal
        eigenvalues (e.g. the ``2l+1`` copies of ``l(l+1)`` on a sphere), whose
        eigenvectors may be nearly parallel. A complex pair contributes the real and
        imaginary parts of its eigenvector, M-orthogonal to each other. Informational;
        not part of :attr:`trustworthy`.
    n_zero : int
        Eigenvalues with ``|Re λ| <= tol``: one per connected piece of the points (a scan
        with stray islands has several); their eigenvectors are constant on each piece.
    symmetric : bool
        The window comes from the symmetric weak form (``form="weak"``): real
        eigenvalues, and an orthogonality defect at round-off level (≤ 1e-8).
    n_outliers : int
        Input points excluded as outliers (``outliers="exclude"``): no part in the
        operator, NaN in the eigenvectors (see :mod:`o3d_meshless.sampling.outliers`).
    noise_level : float
        Median RMS distance of each point's neighbours from the surface fitted to them,
        in point spacings (σ/h; NaN when unknown). Noise, or a sampling too coarse for
        the shape; above ``NOISE_MAX`` (0.15) the window is not :attr:`trustworthy`,
        unless the operator was built on denoised positions (``denoised``), which holds up
        to ``DENOISED_NOISE_MAX`` (0.5).
    denoised : bool
        The operator was built on denoised positions (``denoise="auto"`` or True).
    coarse : bool
        The scatter is a sampling too coarse for the shape, not noise (it grows with the
        neighbourhood); then the window is not trustworthy above ``COARSE_MAX`` (0.25).
    sheet_conflicts : int
        Points whose k nearest neighbours reached another sheet of the surface passing
        close by (a thin part, a fold, a second layer; see
        :mod:`o3d_meshless.sampling.cloud_sheets`); their neighbourhoods were kept to their own
        sheet.
    sheets_unresolved : int
        Points whose neighbourhood still holds another sheet after the split: there the
        sheets are about a spacing apart and no local test separates them. Above
        ``SHEETS_UNRESOLVED_MAX`` of the points the window is not :attr:`trustworthy`.
    sheets_unresolved_share : float
        The same as a share of the points.

    Examples
    --------
    The report of a :meth:`~o3d_meshless.LaplaceBeltrami.spectrum` window is its ``report``:

    >>> import o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> report = om.LaplaceBeltrami(form="weak").fit(random_sphere(500, seed=0)).spectrum(6).report
    >>> report.n_modes, report.n_negative, report.n_zero, report.symmetric, report.trustworthy
    (6, 0, 1, True, True)
    >>> print(str(report).splitlines()[0])
    negative eigenvalues: 0 of 6

    See Also
    --------
    spectrum_report, SpectrumResult
    """

    n_modes: int
    n_negative: int
    min_real: float
    max_abs_real: float
    max_imag: float
    orthogonality_defect: float
    n_zero: int = 0
    symmetric: bool = False
    n_outliers: int = 0
    noise_level: float = float("nan")
    denoised: bool = False
    coarse: bool = False
    sheet_conflicts: int = 0
    sheets_unresolved: int = 0
    sheets_unresolved_share: float = 0.0

    @property
    def negative_tol(self):
        """float: ``1e-8 * max(1, max |Re λ|)``; eigenvalues below ``-negative_tol`` are
        counted as negative (``vals < -report.negative_tol`` marks the spurious modes)."""
        return NEGATIVE_RTOL * max(1.0, self.max_abs_real)

    @property
    def trustworthy(self):
        """bool: no negative eigenvalue, ``max_imag <= 1e-3 * max(1, max |Re λ|)`` and a
        noise level of at most ``NOISE_MAX``; :attr:`reason` says why not."""
        return not self.reason

    @property
    def reason(self):
        """str: why the window is not :attr:`trustworthy`, and the fix (``""`` if it is)."""
        if self.n_negative:
            return (f"{self.n_negative} negative eigenvalue(s), spurious modes: use the weak "
                    "form, or give the geometry's normals or a larger k")
        if self.max_imag > IMAG_RTOL * max(1.0, self.max_abs_real):
            return (f"complex eigenvalues (|imag| up to {self.max_imag:.3g}): use the weak "
                    "form")
        if self.sheets_unresolved_share > SHEETS_UNRESOLVED_MAX:
            return (f"{self.sheets_unresolved} points ({100 * self.sheets_unresolved_share:.0f} "
                    "%) have neighbours on another sheet of the surface about one spacing "
                    "away, which no local test can tell apart: eigenvalues may be far off; "
                    "sample the thin parts more densely, or give a mesh")
        if self.coarse and self.noise_level > COARSE_MAX:
            return (f"the sampling is too coarse for the shape (local fits miss the points "
                    f"by {self.noise_level:.2f} spacings): eigenvalues may be off by several "
                    "%; sample it more densely (e.g. subdivide the mesh)")
        if not self.coarse and self.noise_level > (DENOISED_NOISE_MAX if self.denoised
                                                   else NOISE_MAX):
            return (f"the points scatter {self.noise_level:.2f} spacings (median) about a "
                    "smooth surface: noise moves eigenvalues by a few %. Denoise them "
                    "(denoise=True, or o3d_meshless.denoise_points)")
        return ""

    def __str__(self):
        if self.n_negative:
            neg = (f"negative eigenvalues: {self.n_negative} of {self.n_modes} (most negative "
                   f"{self.min_real:.3g}) -- SPURIOUS, not modes of the surface")
        else:
            neg = f"negative eigenvalues: 0 of {self.n_modes}"
        imag = f"largest |imag|: {self.max_imag:.3g}"
        if self.max_imag > IMAG_RTOL * max(1.0, self.max_abs_real):
            imag += " (large: complex pairs; only the real parts are shown)"
        ortho = f"M-orthogonality defect max|V^T M V - I|: {self.orthogonality_defect:.1e}"
        if not self.symmetric:
            ortho += " (L is not symmetric; ~1e-2 typical, up to ~1 in eigenvalue clusters)"
        lines = [neg, imag, ortho]
        if self.n_outliers:
            lines.append(f"outliers excluded: {self.n_outliers} (no part in the operator; NaN "
                         "in the eigenvectors)")
        if self.sheet_conflicts:
            lines.append(f"sheet conflicts: {self.sheet_conflicts} points had neighbours on "
                         "another sheet passing close by (kept to their own sheet"
                         + (f"; {self.sheets_unresolved} could not be separated)"
                            if self.sheets_unresolved else ")"))
        if self.noise_level > NOISE_SHOWN or self.denoised:
            lines.append(f"noise level: {self.noise_level:.3f} spacings (median σ/h)"
                         + ("; operator built on denoised positions" if self.denoised else "")
                         + ("; a coarse sampling, not noise" if self.coarse else ""))
        if self.reason and not self.n_negative and "complex" not in self.reason:
            lines.append(f"NOT TRUSTWORTHY: {self.reason}")     # (the others said so above)
        if self.n_zero > 1:
            lines.insert(1, f"zero eigenvalues: {self.n_zero} (one per connected piece: the "
                            f"points form {self.n_zero} separate pieces)")
        return "\n".join(lines)


def spectrum_report(vals: ArrayLike, vecs: ArrayLike | None, M: Any, *,
                    symmetric: bool = False, gram: ArrayLike | None = None
                    ) -> SpectrumReport:
    """Quality report of an eigenvalue window (see :class:`SpectrumReport`).

    Parameters
    ----------
    vals : array_like of shape (m,)
        Eigenvalues, complex (as computed) or real.
    vecs : ndarray of shape (n, m)
        Real eigenvectors as returned (M-normalised).
    M : sparse matrix of shape (n, n), callable or array_like of shape (n,)
        The mass matrix the eigenvectors are orthonormal in (an array: diagonal areas; a
        callable: ``M(V)`` returns the product, e.g. with rows kept elsewhere).
    symmetric : bool, default=False
        The eigenpairs are those of a symmetric pencil (recorded in the report).
    gram : array_like of shape (m, m), optional
        ``Vᵀ M V`` computed elsewhere (e.g. where the vectors are kept); ``vecs`` and
        ``M`` are then not used.

    Returns
    -------
    report : SpectrumReport

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from o3d_meshless.operators.spectra import spectrum_report
    >>> r = spectrum_report(np.array([-5.0, 0.0, 2.0]), np.eye(3), sp.eye(3))
    >>> r.n_negative, r.min_real, r.orthogonality_defect, r.trustworthy
    (1, -5.0, 0.0, False)
    """
    vals = np.asarray(vals)
    real = np.asarray(vals.real, dtype=np.float64)
    n_modes = int(real.size)
    if n_modes == 0:
        return SpectrumReport(0, 0, float("nan"), 0.0, 0.0, 0.0, symmetric=bool(symmetric))
    scale = max(1.0, float(np.abs(real).max()))
    n_negative = int(np.count_nonzero(real < -NEGATIVE_RTOL * scale))
    max_imag = float(np.abs(vals.imag).max()) if np.iscomplexobj(vals) else 0.0
    if gram is None:
        V = np.real(np.asarray(vecs)).astype(np.float64, copy=False)
        gram = mass_gram(M, V) if V.size else np.eye(V.shape[1])
    gram = np.asarray(gram, dtype=np.float64)
    defect = float(np.abs(gram - np.eye(gram.shape[0])).max()) if gram.size else 0.0
    n_zero = int(np.count_nonzero(np.abs(real) <= NEGATIVE_RTOL * scale))
    return SpectrumReport(n_modes=n_modes, n_negative=n_negative, min_real=float(real.min()),
                          max_abs_real=float(np.abs(real).max()), max_imag=max_imag,
                          orthogonality_defect=defect, n_zero=n_zero,
                          symmetric=bool(symmetric))


class SpectrumResult(tuple):
    """Eigenpairs with their quality report: a ``(values, vectors)`` pair.

    A tuple of exactly two items, so ``vals, vecs = om.spectrum(...)`` works; the
    same arrays are also ``.values`` and ``.vectors``, and ``.report`` is the
    :class:`SpectrumReport` of the window.

    Parameters
    ----------
    values : ndarray of shape (n_modes,)
        Real parts of the eigenvalues, ascending.
    vectors : ndarray of shape (n, n_modes)
        Real eigenvectors, ``vᵀ M v = 1``.
    report : SpectrumReport

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> result = om.spectrum(p, n_modes=4)
    >>> vals, vecs = result                       # unpacks like a (vals, vecs) tuple
    >>> vals is result.values, vecs.shape
    (True, (2000, 4))
    >>> result.report.n_negative, result.report.trustworthy
    (0, True)
    >>> print(result.report)                      # doctest: +ELLIPSIS
    negative eigenvalues: 0 of 4
    largest |imag|: ...
    M-orthogonality defect max|V^T M V - I|: ...
    """

    def __new__(cls, values, vectors, report):
        self = super().__new__(cls, (values, vectors))
        self._report = report
        return self

    def __getnewargs__(self):                      # pickling / copying
        return (self[0], self[1], self._report)

    @property
    def values(self):
        """ndarray of shape (n_modes,): eigenvalues (real parts), ascending."""
        return self[0]

    @property
    def vectors(self):
        """ndarray of shape (n, n_modes): eigenvectors, ``vᵀ M v = 1``."""
        return self[1]

    @property
    def report(self):
        """SpectrumReport: negative count, largest imaginary part, orthogonality defect."""
        return self._report

    def __repr__(self):
        return (f"SpectrumResult(values={self[0]!r}, vectors=<array of shape "
                f"{np.shape(self[1])}>, report={self._report!r})")



#: columns of ``M @ V`` formed at a time by :func:`mass_gram` and :func:`mass_norms`
#: (the whole product would be another copy of the eigenvectors)
MASS_CHUNK = 16


def mass_gram(M, V):
    """``Vᵀ M V`` ``(m, m)``, forming ``M @ V`` a few columns at a time."""
    m = V.shape[1]
    gram = np.empty((m, m))
    for lo in range(0, m, MASS_CHUNK):
        gram[:, lo:lo + MASS_CHUNK] = V.T @ _times_mass(M, V[:, lo:lo + MASS_CHUNK])
    return gram


def mass_norms(M, V):
    """``sqrt(diag(Vᵀ M V))`` ``(m,)`` for real ``V``, a few columns at a time."""
    m = V.shape[1]
    out = np.empty(m)
    for lo in range(0, m, MASS_CHUNK):
        part = V[:, lo:lo + MASS_CHUNK]
        out[lo:lo + MASS_CHUNK] = np.einsum("ij,ij->j", part, _times_mass(M, part))
    return np.sqrt(np.maximum(out, 0.0))


def _times_mass(M, V):
    """``M @ V`` for a sparse mass matrix, a function that applies one, or an array of
    diagonal areas."""
    if sparse.issparse(M):
        return M @ V
    if callable(M):
        return M(V)
    m = np.asarray(M, dtype=np.float64).ravel()
    return m[:, None] * V if np.ndim(V) == 2 else m * V
