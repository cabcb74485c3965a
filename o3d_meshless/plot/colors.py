"""Colours of a scalar field: robust (percentile) limits, the default colormaps, honest
colourbar ticks."""
from __future__ import annotations

import math

import numpy as np


__all__ = ["color_limits", "colorize"]


#: values within this fraction of the field's largest |value| of zero count as zero
#: when deciding whether a field has both signs (diverging colours)
SIGN_RTOL = 1e-5


def color_limits(values, *, percentile=99.0):
    """Robust colour limits of a field and whether they are symmetric about zero.

    A field with both signs (between its ``100 - percentile`` and ``percentile``
    percentiles) gets ``(-m, m, True)`` with ``m`` the ``percentile``-th percentile
    of ``|values|``; any other field gets ``(lo, hi, False)`` from its
    ``100 - percentile`` and ``percentile`` percentiles. An exact extreme replaces
    the percentile when the tail beyond it is short (at most a quarter of the
    range), so nothing is clipped for a smooth field while one outlier no longer
    sets the scale. ``percentile=100`` gives the exact extremes. A constant field
    gets a small non-empty range.

    Examples
    --------
    >>> import numpy as np
    >>> from o3d_meshless.plot import color_limits
    >>> color_limits([-1.0, 3.0])
    (-3.0, 3.0, True)
    >>> color_limits([1.0, 3.0])
    (1.0, 3.0, False)
    >>> v = np.r_[np.linspace(0.0, 1.0, 999), 2927.0]     # one outlier
    >>> lo, hi, sym = color_limits(v)
    >>> lo, round(hi, 2), sym
    (0.0, 0.99, False)
    """
    v = np.real(np.asarray(values)).astype(np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0, False
    p = float(percentile)
    if not 50.0 < p <= 100.0:
        raise ValueError(f"`percentile` must be in (50, 100]; got {percentile!r}")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        pad = max(abs(lo) * 1e-6, 1e-12)
        return lo - pad, hi + pad, False
    q_lo, q_hi = (float(x) for x in np.percentile(v, [100.0 - p, p]))
    tail = 0.25
    # both signs, beyond rounding: a height measured from a floor at 0 in float32 data
    # (a range scan's) has values of -1e-7 there, which must not make it a signed field
    zero = SIGN_RTOL * max(abs(q_lo), abs(q_hi))
    if q_lo < -zero and q_hi > zero:
        a = np.abs(v)
        m, q = float(a.max()), float(np.percentile(a, p))
        if m > (1.0 + tail) * q:
            m = q
        return -m, m, True
    span = q_hi - q_lo
    if span <= 0.0:
        return lo, hi, False
    if hi - q_hi > tail * span:
        hi = q_hi
    if q_lo - lo > tail * span:
        lo = q_lo
    return lo, hi, False


def _default_cmap(symmetric):
    return "RdBu_r" if symmetric else "viridis"


def _extend(values, lo, hi):
    """Colourbar extension: 'neither', 'min', 'max' or 'both'."""
    eps = 1e-12 * max(abs(lo), abs(hi), 1e-300)
    below = bool(np.min(values) < lo - eps)
    above = bool(np.max(values) > hi + eps)
    return {(False, False): "neither", (True, False): "min",
            (False, True): "max", (True, True): "both"}[(below, above)]


#: colour of points without a value (NaN or inf: excluded outliers, unreachable points)
NO_VALUE_RGB = (0.72, 0.72, 0.72)


def colorize(values, *, cmap=None, percentile=99.0):
    """RGB colours in [0, 1] for a scalar field, with the limits of :func:`color_limits`.

    Values beyond the (robust) limits get the end colours of the colormap, as in the
    pictures; points without a value (NaN: excluded outliers) are light grey.

    Parameters
    ----------
    values : array_like of shape (n,)
    cmap : str, optional
        matplotlib colormap name; default ``"RdBu_r"`` for a field with both signs,
        ``"viridis"`` otherwise.
    percentile : float, default 99
        See :func:`color_limits`.

    Returns
    -------
    rgb : ndarray of shape (n, 3), float64
    """
    import matplotlib

    v = np.real(np.asarray(values)).astype(np.float64).ravel()
    lo, hi, sym = color_limits(v, percentile=percentile)
    cm = matplotlib.colormaps[cmap or _default_cmap(sym)]
    rgb = np.asarray(cm(np.clip((v - lo) / (hi - lo), 0.0, 1.0))[:, :3], dtype=np.float64)
    rgb[np.isnan(v)] = NO_VALUE_RGB
    return rgb


def _tick_labels(ticks):
    """How to write ``ticks`` without an offset: ``(scale, decimals, power)`` with labels
    ``f"{t / scale:.{decimals}f}"``. A common power of ten is taken out of very small
    or very large values when that makes the labels shorter; the decimals are the
    fewest that keep the labels exact and distinct."""
    ticks = np.asarray(ticks, dtype=np.float64)
    big = float(np.max(np.abs(ticks))) if len(ticks) else 0.0
    power = int(math.floor(math.log10(big))) if big > 0 else 0
    best = None
    for p in {0, power if (power < -2 or power > 4) else 0}:
        scaled = ticks / 10.0 ** p
        step = float(np.min(np.diff(scaled))) if len(scaled) > 1 else 1.0
        for decimals in range(16):
            labels = [f"{t:.{decimals}f}" for t in scaled]
            if len(set(labels)) == len(labels) and np.allclose(
                    np.round(scaled, decimals), scaled, rtol=0, atol=1e-6 * step):
                break
        width = max(len(t) for t in labels) + (4 if p else 0)
        if best is None or width < best[0]:
            best = (width, 10.0 ** p, decimals, p)
    return best[1:]


def _colorbar_ticks(cb, lo, hi, values, label=None):
    """Ticks that stay distinct, written out in full (no offset text above the bar,
    which would sit over the neighbouring shape): a power of ten, when one is taken
    out, goes into the colour-bar label beside the bar; one tick if constant."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    vmin, vmax = float(np.min(values)), float(np.max(values))
    texts = [] if label is None else [str(label)]
    # constant up to rounding (e.g. the length of one transported unit vector), or
    # colour limits that coincide: one tick, said once
    flat = max(abs(vmin), abs(vmax), abs(lo), abs(hi)) * 1e-12
    if vmax - vmin <= flat or hi - lo <= flat:
        at = vmin if vmax - vmin <= flat else lo
        text = f"{at:.6g}"
        cb.locator = FixedLocator([at])
        cb.formatter = FuncFormatter(lambda x, pos=None: text)
    else:
        ticks = MaxNLocator(5).tick_values(lo, hi)
        span = hi - lo
        ticks = ticks[(ticks >= lo - 1e-9 * span) & (ticks <= hi + 1e-9 * span)]
        scale, decimals, power = _tick_labels(ticks)
        cb.locator = FixedLocator(ticks)
        cb.formatter = FuncFormatter(lambda x, pos=None: f"{x / scale + 0.0:.{decimals}f}"
                                     .replace("-", "\u2212"))
        if power:
            texts.append(f"\u00d710$^{{{power}}}$")
    cb.ax.tick_params(labelsize=7)
    if texts:
        cb.set_label("  ".join(texts), fontsize=7)
    cb.update_ticks()
