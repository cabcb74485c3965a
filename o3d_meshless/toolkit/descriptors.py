"""Spectral shape descriptors from a Laplace–Beltrami spectrum.

Every function takes ``values`` (m,) and ``vectors`` (n, m) as
:func:`o3d_meshless.spectrum` returns them: eigenpairs of ``K φ = λ M φ`` (``λ`` ≥ 0,
ascending; ``K ≈ M(−Δ_S)``, ``M`` the pencil's mass: the averaged mass by default,
the lumped areas with ``mass="lumped"``; its rows sum to the areas), eigenvectors
**M-orthonormal**
(``VᵀMV = I``). Then ``Σ_k e^{−λ_k t} φ_k φ_kᵀ`` is the heat kernel's truncated
expansion and every formula below is the continuous one evaluated at the points.

What the descriptors assume:

* **M-orthonormal vectors.** The default weak form gives them to round-off. Strong-form
  spectra (``form="strong"``) have each ``vᵀMv = 1`` but are not exactly M-orthogonal to
  each other (``L`` is not symmetric; ``spectrum_report`` gives ``max|VᵀMV − I|``): the
  descriptors are then approximate, off by about that defect.
* **Truncation.** With ``m`` modes the heat kernel is exact to about ``e^{−λ_m t}``
  relative: small ``t`` needs many modes (unit sphere, 1 % at ``t = 0.01`` needs about
  480 modes, at ``t = 0.1`` about 50). Functions warn when ``e^{−λ_m t} > 1e-2``.
* **Units.** ``t`` is in squared length units of the geometry and ``λ`` in inverse
  squared units; rescale the geometry (or use ``shape_dna`` with ``area``) to compare
  shapes of different size.
* Zero eigenvalues (one per connected piece) are kept in the heat kernel (they carry the
  constant ``1/area`` of each piece) and skipped where a logarithm of ``λ`` is needed.
"""
from __future__ import annotations


import numpy as np
from .._warnings import warn
from .._typing import ArrayLike, Float64Array

__all__ = ["heat_kernel_signature", "wave_kernel_signature", "shape_dna", "heat_kernel",
           "diffusion_distance", "TRUNCATION_WARN"]

#: truncation warning when the last mode's weight e^{−λ_m t} exceeds this
TRUNCATION_WARN = 1e-2
#: eigenvalues below this (relative to the largest) count as zero
ZERO_RTOL = 1e-9


def _spectrum(values, vectors=None, *, owner):
    lam = np.asarray(values)
    if lam.dtype == object or not (np.issubdtype(lam.dtype, np.floating)
                                   or np.issubdtype(lam.dtype, np.integer)):
        raise ValueError(f"`values` of {owner} must be real eigenvalues; got dtype "
                         f"{lam.dtype} (take .real of a strong-form spectrum)")
    lam = np.asarray(lam, dtype=np.float64)
    if lam.ndim != 1 or lam.size == 0:
        raise ValueError(f"`values` of {owner} must have shape (m,) with m >= 1; got "
                         f"{lam.shape}")
    if not np.isfinite(lam).all():
        raise ValueError(f"`values` of {owner} must be finite; got NaN or inf")
    scale = max(float(np.abs(lam).max()), 1e-300)
    if (lam < -1e-8 * scale).any():
        raise ValueError(f"`values` of {owner} must be >= 0 (eigenvalues of −Δ); got "
                         f"{lam.min():.3g}: negative eigenvalues are spurious modes, drop "
                         "them (see the spectrum's report)")
    lam = np.maximum(lam, 0.0)
    if vectors is None:
        return lam, None
    vec = np.asarray(vectors)
    if not (np.issubdtype(vec.dtype, np.floating) or np.issubdtype(vec.dtype, np.integer)):
        raise ValueError(f"`vectors` of {owner} must be a real array; got dtype {vec.dtype}")
    vec = np.asarray(vec, dtype=np.float64)
    if vec.ndim != 2 or vec.shape[1] != lam.size:
        raise ValueError(f"`vectors` of {owner} must have shape (n, m) with m = "
                         f"len(values) = {lam.size} (one column per eigenvalue); got "
                         f"{vec.shape}")
    finite = np.isfinite(vec)
    if not finite.all():
        # rows entirely NaN are points excluded as outliers: their results are NaN too
        rows = ~finite.all(axis=1)
        if rows.all() or not np.isnan(vec[rows]).all():
            raise ValueError(f"`vectors` of {owner} must be finite (or NaN in whole rows, "
                             "for points excluded as outliers); got NaN or inf in part of "
                             "a row")
    return lam, vec


def _times(t, *, name, owner):
    arr = np.asarray(t)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating)
                                 or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"`{name}` of {owner} must be a positive number or a 1-D array "
                         f"of them; got {t!r}")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"`{name}` of {owner} must be a positive number or a non-empty "
                         f"1-D array; got shape {arr.shape}")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError(f"`{name}` of {owner} must be positive and finite (diffusion "
                         f"times, squared length units); got {t!r}")
    return arr


def _index(i, n, *, owner):
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
        raise ValueError(f"`i` of {owner} must be an int point index; got {i!r}")
    if not 0 <= int(i) < n:
        raise ValueError(f"`i` of {owner} must index the {n} points (0 <= i < {n}); got {i}")
    return int(i)


def _warn_truncation(lam, t, owner):
    if lam.size and np.exp(-lam[-1] * np.min(t)) > TRUNCATION_WARN:
        warn(f"{owner}: the last of {lam.size} modes still has weight "
             f"e^(-λ_m t) = {np.exp(-lam[-1] * np.min(t)):.2g} at t = "
             f"{np.min(t):.3g}: the truncated sum is inaccurate there; compute "
             "more modes or use larger t", RuntimeWarning)


def heat_kernel_signature(values: ArrayLike, vectors: ArrayLike,
                          times: float | ArrayLike) -> Float64Array:
    """Heat kernel signature ``HKS(x, t) = Σ_k e^{−λ_k t} φ_k(x)²`` (Sun, Ovsjanikov &
    Guibas 2009).

    Parameters
    ----------
    values : array_like of shape (m,)
        Eigenvalues, ``>= 0``.
    vectors : array_like of shape (n, m)
        M-orthonormal eigenvectors (see the module notes).
    times : float or array_like of shape (T,)
        Positive times.

    Returns
    -------
    ndarray of shape (n, T), or (n,) for a scalar ``times``
        ``k_t(x, x)``: on the unit sphere ``Σ_l (2l + 1) e^{−l(l+1)t} / (4π)``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.descriptors import heat_kernel_signature
    >>> from o3d_meshless.testing import random_sphere
    >>> vals, vecs = om.spectrum(random_sphere(2000, seed=0), n_modes=36)
    >>> hks = heat_kernel_signature(vals, vecs, [0.5, 1.0])
    >>> exact = [sum((2 * l + 1) * np.exp(-l * (l + 1) * t) for l in range(30)) / (4 * np.pi)
    ...          for t in (0.5, 1.0)]
    >>> bool(np.all(np.abs(np.median(hks, axis=0) / exact - 1) < 0.01))
    True
    """
    owner = "heat_kernel_signature"
    lam, vec = _spectrum(values, vectors, owner=owner)
    t = _times(times, name="times", owner=owner)
    _warn_truncation(lam, t, owner)
    out = (vec ** 2) @ np.exp(-np.outer(lam, np.atleast_1d(t)))
    return out[:, 0] if t.ndim == 0 else out


def wave_kernel_signature(values: ArrayLike, vectors: ArrayLike, energies: int | ArrayLike = 100,
                          sigma: float | None = None) -> Float64Array:
    """Wave kernel signature (Aubry, Schlickewei & Cremers 2011).

    ``WKS(x, e) = Σ_k φ_k(x)² g_e(λ_k) / Σ_k g_e(λ_k)`` with the log-normal band
    ``g_e(λ) = exp(−(e − log λ)² / (2σ²))``; zero eigenvalues are skipped.

    Parameters
    ----------
    values : array_like of shape (m,)
    vectors : array_like of shape (n, m)
        M-orthonormal eigenvectors.
    energies : int or array_like of shape (E,), default=100
        Log-energies ``e``; an int ``E`` gives ``E`` values evenly spaced on
        ``[log λ_min + 2σ, log λ_max − 2σ]`` (the paper's choice).
    sigma : float or None, default=None
        Band width in log-energy; default 7 times the spacing of the ``E`` energies
        over ``[log λ_min, log λ_max]`` (the paper's factor is 6–7).

    Returns
    -------
    wks : ndarray of shape (n, E)
        Each column integrates (``Σ_x area_x WKS(x, e)``) to 1: exactly with a diagonal
        (lumped) mass; with the averaged mass ``φᵀMφ = 1`` is not ``Σ_x area_x φ(x)²``,
        and the integral is 1 to second order (within 2 % for 81 modes of 3000 points
        on the unit sphere).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.descriptors import wave_kernel_signature
    >>> from o3d_meshless.testing import random_sphere
    >>> vals, vecs = om.spectrum(random_sphere(1000, seed=0), n_modes=30)
    >>> wave_kernel_signature(vals, vecs, energies=8).shape
    (1000, 8)
    """
    owner = "wave_kernel_signature"
    lam, vec = _spectrum(values, vectors, owner=owner)
    keep = lam > ZERO_RTOL * max(float(lam.max()), 1e-300)
    if keep.sum() < 2:
        raise ValueError(f"`values` of {owner} need at least two nonzero eigenvalues; got "
                         f"{int(keep.sum())}")
    lam, vec = lam[keep], vec[:, keep]
    log_lam = np.log(lam)
    lo, hi = float(log_lam.min()), float(log_lam.max())
    if isinstance(energies, (int, np.integer)) and not isinstance(energies, bool):
        if energies < 1:
            raise ValueError(f"`energies` of {owner} must be a positive int or an array of "
                             f"log-energies; got {energies}")
        if sigma is None:
            sigma = 7.0 * (hi - lo) / energies
        e = np.linspace(lo + 2 * sigma, hi - 2 * sigma, int(energies)) \
            if hi - lo > 4 * sigma else np.full(int(energies), 0.5 * (lo + hi))
    else:
        e = np.atleast_1d(np.asarray(energies, dtype=np.float64))
        if e.ndim != 1 or not np.isfinite(e).all():
            raise ValueError(f"`energies` of {owner} must be an int or a finite 1-D array "
                             "of log-energies")
        if sigma is None:
            sigma = 7.0 * (hi - lo) / max(len(e), 1)
    sigma = float(_times(sigma, name="sigma", owner=owner))
    g = np.exp(-(e[None, :] - log_lam[:, None]) ** 2 / (2 * sigma ** 2))   # (m, E)
    norm = g.sum(axis=0)
    return (vec ** 2) @ (g / np.where(norm > 0, norm, 1.0))


def shape_dna(values: ArrayLike, area: float | None = None, n: int | None = None) -> Float64Array:
    """ShapeDNA (Reuter, Wolter & Peinecke 2006): the spectrum made scale-invariant.

    Parameters
    ----------
    values : array_like of shape (m,)
        Eigenvalues, ascending (zero modes first).
    area : float or None, default=None
        Surface area (``M.sum()``). Given: ``λ_k · area``, the eigenvalues of the shape
        scaled to unit area (Weyl: ``≈ 4πk``). ``None``: ``λ_k / λ_1`` (ratios to the
        first nonzero eigenvalue).
    n : int or None, default=None
        Number of nonzero eigenvalues to return (default: all that were given).

    Returns
    -------
    ndarray of shape (n,)
        The normalised nonzero eigenvalues (zero modes, one per piece, dropped).

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.descriptors import shape_dna
    >>> from o3d_meshless.testing import random_sphere
    >>> p = 3.0 * random_sphere(2000, seed=0)                  # any radius
    >>> K, M = om.laplace_beltrami(p, form="weak")
    >>> vals, vecs = om.spectrum(p, n_modes=4)
    >>> np.round(shape_dna(vals, area=M.sum()) / (8 * np.pi), 2)   # unit sphere: 2·4π
    array([1., 1., 1.])
    """
    owner = "shape_dna"
    lam, _ = _spectrum(values, owner=owner)
    lam = np.sort(lam)
    lam = lam[lam > ZERO_RTOL * max(float(lam.max()), 1e-300)]
    if lam.size == 0:
        raise ValueError(f"`values` of {owner} hold no nonzero eigenvalue")
    if n is not None:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n` of {owner} must be a positive int or None; got {n!r}")
        if n > lam.size:
            raise ValueError(f"`n` of {owner} asks for {n} nonzero eigenvalues but only "
                             f"{lam.size} were given: compute more modes")
        lam = lam[:n]
    if area is None:
        return lam / lam[0]
    a = float(_times(area, name="area", owner=owner))
    return lam * a


def heat_kernel(values: ArrayLike, vectors: ArrayLike, i: int, t: float) -> Float64Array:
    """Heat kernel ``k_t(x_i, x) = Σ_k e^{−λ_k t} φ_k(x_i) φ_k(x)`` from point ``i``.

    The heat at time ``t`` of a unit of heat released at ``x_i``:
    ``1ᵀ M k_t(x_i, ·) = Σ_x area_x k_t(x_i, x) = 1`` on a closed piece (with all its
    modes up to round-off and truncation).

    Parameters
    ----------
    values : array_like of shape (m,)
    vectors : array_like of shape (n, m)
        M-orthonormal eigenvectors.
    i : int
        Point index.
    t : float or array_like of shape (T,)

    Returns
    -------
    ndarray of shape (n,) or (n, T)

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.descriptors import heat_kernel
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1000, seed=0)
    >>> K, M = om.laplace_beltrami(p, form="weak")
    >>> vals, vecs = om.spectrum(p, n_modes=25)
    >>> k = heat_kernel(vals, vecs, 0, 0.5)
    >>> areas = np.asarray(M.sum(axis=1)).ravel()            # M's rows sum to the areas
    >>> round(float(areas @ k), 6)                           # heat is conserved
    1.0
    """
    owner = "heat_kernel"
    lam, vec = _spectrum(values, vectors, owner=owner)
    i = _index(i, vec.shape[0], owner=owner)
    tt = _times(t, name="t", owner=owner)
    _warn_truncation(lam, tt, owner)
    w = np.exp(-np.outer(lam, np.atleast_1d(tt))) * vec[i][:, None]      # (m, T)
    out = vec @ w
    return out[:, 0] if tt.ndim == 0 else out


def diffusion_distance(values: ArrayLike, vectors: ArrayLike, i: int, t: float) -> Float64Array:
    """Diffusion distance ``D_t(x_i, x)`` (Coifman & Lafon 2006) from point ``i``.

    ``D_t(x_i, x)² = Σ_k e^{−2λ_k t} (φ_k(x_i) − φ_k(x))² = ‖k_t(x_i, ·) − k_t(x, ·)‖²_M``:
    the M-norm distance between the heat kernels of the two points.

    Parameters
    ----------
    values : array_like of shape (m,)
    vectors : array_like of shape (n, m)
        M-orthonormal eigenvectors.
    i : int
    t : float or array_like of shape (T,)

    Returns
    -------
    ndarray of shape (n,) or (n, T)
        0 at ``i``.

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> from o3d_meshless.toolkit.descriptors import diffusion_distance
    >>> from o3d_meshless.testing import random_sphere
    >>> p = random_sphere(1000, seed=0)
    >>> vals, vecs = om.spectrum(p, n_modes=25)
    >>> d = diffusion_distance(vals, vecs, 0, 0.3)
    >>> float(d[0]), bool(d[np.argmin(p @ p[0])] > d[np.argmax(p[1:] @ p[0]) + 1])
    (0.0, True)
    """
    owner = "diffusion_distance"
    lam, vec = _spectrum(values, vectors, owner=owner)
    i = _index(i, vec.shape[0], owner=owner)
    tt = _times(t, name="t", owner=owner)
    _warn_truncation(lam, 2 * tt, owner)
    w = np.exp(-2 * np.outer(lam, np.atleast_1d(tt)))                  # (m, T)
    diff = vec - vec[i]
    out = np.sqrt(np.maximum((diff ** 2) @ w, 0.0))
    return out[:, 0] if tt.ndim == 0 else out
