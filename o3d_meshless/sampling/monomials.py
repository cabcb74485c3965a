"""Monomials of the Taylor unknowns and the coefficient rows of requested derivatives.

One table for every user: the Taylor, GSP and moment methods, the frames' height fit and
Turner et al.'s error bounds. A derivative target is a multi-index tuple, e.g. ``(1, 0)``, or a
dict ``{multi_index: coefficient}``, e.g. the Laplacian ``{(2, 0): 1, (0, 2): 1}``.
"""
from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np

__all__ = ["monomials", "monomial_tables", "target_coefficients"]


@lru_cache(maxsize=None)
def monomials(order: int, dim: int):
    """Multi-indices of the Taylor unknowns, graded: degree 1 first, then 2, ….

    Within a degree the order is reverse lexicographic, e.g. for ``dim=2``:
    ``(1,0), (0,1), (2,0), (1,1), (0,2), (3,0), …``.
    """
    out = []

    def rec(prefix, left, slots):
        if slots == 1:
            out.append(tuple(prefix) + (left,))
            return
        for a in range(left, -1, -1):
            rec(prefix + [a], left - a, slots - 1)

    for deg in range(1, order + 1):
        rec([], deg, dim)
    return tuple(out)


@lru_cache(maxsize=None)
def monomial_tables(order, dim):
    """Exponents ``(p, dim)``, ``1/α!`` ``(p,)`` and degrees ``(p,)`` of :func:`monomials`,
    as the compiled kernels take them (C-contiguous, ``np.intp`` / float64)."""
    ms = monomials(order, dim)
    expo = np.ascontiguousarray(ms, dtype=np.intp).reshape(len(ms), dim)
    inv_fact = np.array([1.0 / np.prod([factorial(a) for a in m]) for m in ms])
    degree = expo.sum(axis=1).astype(np.intp)
    return expo, inv_fact, np.ascontiguousarray(degree)


def target_coefficients(order, dim, targets):
    """Rows of coefficients over the unknowns for each requested derivative.

    ``targets`` is a sequence whose items are a multi-index tuple or a dict
    ``{multi_index: coefficient}`` (e.g. the Laplacian ``{(2,0): 1, (0,2): 1}``).
    """
    ms = monomials(order, dim)
    index = {m: i for i, m in enumerate(ms)}
    rows = np.zeros((len(targets), len(ms)))
    for r, t in enumerate(targets):
        items = t.items() if isinstance(t, dict) else [(tuple(t), 1.0)]
        for m, coef in items:
            if tuple(m) not in index:
                raise ValueError(f"derivative {tuple(m)} is not available at order {order} "
                                 f"in {dim} dimensions; raise `order`")
            rows[r, index[tuple(m)]] = coef
    return rows
