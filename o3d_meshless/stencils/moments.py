"""Moment-coefficient stencils (moment coefficients): first derivatives and the Laplacian from one fit.

For a centre ``x0`` with neighbour offsets ``b_k = x_k − x0`` (rows of ``B``, scaled to
unit radius first), the paper computes one coefficient vector

    G = B Bᵀ,  F = G∘G,  v = diag(G),  N = I − G⁺G,  a = N (F N)⁺ v,

the minimum-norm solution of ``Σ a_k b_k = 0`` and ``Σ a_k b_k b_kᵀ = I`` (the paper's
"best estimate of the identity matrix and the zero vector"). Then, for any scalar,
vector or tensor field ``Y`` with ``dY_k = Y_k − Y_0``,

    ∇Y ≈ Σ a_k b_k ⊗ dY_k   (∇·Y, ∇×Y: dot and cross instead of ⊗),   ΔY ≈ Σ 2 a_k dY_k.

What the method is
------------------
* ``2a`` is exactly the Laplacian row of the unweighted, centre-interpolating quadratic
  least-squares (Taylor order 2) fit: both are the minimum-norm weights reproducing the
  quadratic moments. The Laplacian is therefore that of ``method="taylor", order=2``
  (unweighted), computed differently.
* The gradient ``Σ a_k b_k dY_k`` is exact for linear fields but **first order**: for a
  quadratic field its error is ``Σ a_k b_k (b_kᵀ H b_k)/2 = O(h)``, the third moments of
  ``a`` not being constrained. Prefer ``method="taylor"`` with ``order=3`` where gradients
  must be accurate (error ``O(h³)``).
* ``order`` is not a free parameter: the fit is always the quadratic moment fit.
  ``MAX_ORDER["moments"] = 2``; the public entries require ``order=2`` (the kernel wrapper
  also accepts ``1`` so that the row guard's rank fallback can call it; it returns the
  same stencils).
* Stability rule of the paper: ``k > d(d+3)/2`` neighbours (``k ≥ 6`` in 2-D, ``k ≥ 10``
  in 3-D), enforced with a ``ValueError`` naming ``k``.

Pseudo-inverses: ``G⁺G`` is the orthogonal projector onto ``range(B)``; it is formed from
the left singular vectors of ``B`` whose singular values exceed ``RCOND·σ_max`` (the same
projector as ``pinv(G) @ G`` with cut-off ``RCOND²`` on the eigenvalues of ``G``, without
squaring the condition number). ``(F N)⁺`` drops singular values below ``RCOND·σ_max``.
``RCOND = 1e-10`` sits well above round-off (``~1e-16``; the null space of ``F N`` shows
up at ``~1e-15·σ_max``) and well below the smallest genuine singular values of a usable
stencil (``> 1e-6`` relative, the row guard's test).

Diagnostics per stencil (``DIAGNOSTIC_NAMES`` order): ``rcond`` = min(σ_d(B)/σ₁(B),
σ_r(FN)/σ₁(FN)) with ``r = d(d+1)/2``; ``sigma_min_A`` = σ_d(B) of the unit-scaled offsets;
``sigma_min_A21`` = σ_r(FN)/σ₁(FN); ``rank`` = rank(B) + rank(FN) (``d(d+3)/2`` when the
stencil is non-degenerate).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_stencil_arrays, raise_if_out_of_memory

from .._kernels.moments import moment_stencils
from .spec import MethodSpec

__all__ = ["METHOD", "moments_weights", "n_unknowns", "monomials", "min_neighbours", "check_k",
           "laplacian_target", "RCOND"]

#: relative singular-value cut-off of both pseudo-inverses (see the module docstring)
RCOND = 1e-10


def min_neighbours(dim: int) -> int:
    """Smallest ``k`` allowed by the paper's stability rule ``k > d(d+3)/2``."""
    return dim * (dim + 3) // 2 + 1


def n_unknowns(order: int, dim: int) -> int:
    """Neighbours a moment stencil needs: ``d(d+3)/2 + 1`` (``order`` is ignored)."""
    return min_neighbours(dim)


def monomials(order: int, dim: int):
    """First-derivative multi-indices the method returns as separate derivatives."""
    return tuple(tuple(int(a == c) for a in range(dim)) for c in range(dim))


def laplacian_target(dim: int) -> dict:
    """The Laplacian target ``{(2,0): 1, (0,2): 1}`` (3-D: three entries)."""
    return {tuple(2 * int(a == c) for a in range(dim)): 1.0 for c in range(dim)}


def check_k(k: int, dim: int, owner=None):
    """Raise ``ValueError`` naming ``k`` unless ``k > d(d+3)/2`` (the paper's rule)."""
    need = min_neighbours(dim)
    if k < need:
        where = f" of {owner}" if owner else ""
        raise ValueError(f"`k`{where} must exceed d(d+3)/2 = {need - 1} for method 'moments' "
                         f"in {dim}-D (the paper's stability rule), i.e. k >= {need}; got {k}")


def _split_targets(targets, dim):
    """(grad_coef (n_out, d), lap_coef (n_out,)) for first-derivative / Laplacian targets."""
    n_out = len(targets)
    grad = np.zeros((n_out, dim))
    lap = np.zeros(n_out)
    firsts = {m: c for c, m in enumerate(monomials(1, dim))}
    pure = set(laplacian_target(dim))
    for r, t in enumerate(targets):
        items = list(t.items()) if isinstance(t, dict) else [(t, 1.0)]
        items = [(tuple(int(x) for x in m), float(c)) for m, c in items]
        seconds = {m: c for m, c in items if m in pure}
        for m, c in items:
            if m in firsts:
                grad[r, firsts[m]] += c
            elif m not in pure:
                raise ValueError(
                    f"derivative {m} is not available from method 'moments' in {dim}-D: it "
                    "gives first derivatives and the Laplacian only (its `order` is fixed at "
                    "2); use method='taylor' with a suitable `order`")
        if seconds:
            coefs = set(seconds.values())
            if set(seconds) != pure or len(coefs) != 1:
                raise ValueError(
                    f"target {t!r} is not available from method 'moments': second derivatives "
                    "only as the Laplacian (equal coefficients on every pure second derivative, "
                    "its `order` is fixed at 2); use method='taylor', order >= 2")
            lap[r] = coefs.pop()
    return np.ascontiguousarray(grad), np.ascontiguousarray(lap)


def moments_weights(points, neighbors, centers, bases, *, order, targets,
                    weight_power=-1.0, bounds=False, n_threads=1):
    """Run the compiled moment kernel on already validated arrays.

    Same signature and return values as :func:`o3d_meshless.stencils.taylor.taylor_weights`.
    ``targets`` items: first-derivative multi-indices (e.g. ``(1, 0)``), dicts of them, or
    the Laplacian dict :func:`laplacian_target` (any common coefficient). ``weight_power``
    must be ``-1`` (the paper's fit is unweighted; ``weights=None``); ``bounds`` is accepted
    and ignored (Turner et al.'s bounds belong to the Taylor fit); ``order`` must be 1 or 2.
    """
    if order not in (1, 2):
        raise ValueError(f"`order` must be 2 for method 'moments' (one quadratic moment fit "
                         f"gives the first derivatives and the Laplacian); got {order}")
    if weight_power != -1.0:
        raise ValueError("method 'moments' is unweighted (as published); pass weights=None")
    dim = points.shape[1] if bases is None else bases.shape[1]
    check_stencil_arrays(points, neighbors, centers, bases, dim, n_threads)
    m, k = neighbors.shape
    check_k(k, dim)
    grad, lap = _split_targets(targets, dim)
    if bases is None:
        bases = np.zeros((0, dim, points.shape[1]))
    weights = np.empty((m, k, len(targets)))
    diagnostics = np.empty((m, 4))
    status = np.zeros(m, dtype=np.intc)
    if m:
        moment_stencils(points, neighbors, centers, bases, grad, lap, RCOND, weights,
                        diagnostics, status, int(n_threads))
        raise_if_out_of_memory(status, "moment")
    return weights, diagnostics, status


def _check_k_rule(k, dim, options, owner=None):
    check_k(k, dim, owner=owner)


#: the registry's ``"moments"``: order fixed at 2, unweighted, first derivatives plus the
#: Laplacian (no separate second derivatives); a good stencil has rank d(d+3)/2
METHOD = MethodSpec(
    name="moments", title="moment coefficients (Laplacian and first derivatives from one "
                          "quadratic fit)",
    kernel=moments_weights, n_unknowns=n_unknowns, monomials=monomials, max_order=2,
    fixed_order=2, weighted=False,
    full_rank=lambda order, dim: dim * (dim + 3) // 2,
    extra_targets=lambda dim: {"laplacian": laplacian_target(dim)},
    check_k=_check_k_rule, default_k=lambda order, dim, options: dim * (dim + 3))
