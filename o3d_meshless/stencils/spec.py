"""What the rest of the library may know about a stencil method: one frozen spec each.

Every method module (``stencils/<method>.py``) exports a :class:`MethodSpec` as
``METHOD`` (the ghost-point module exports two). The registry in
:mod:`o3d_meshless.stencils` is a dict built from them. Operators, scattered data, the
guard, the CLI, Poisson and vector calculus ask the spec (``spec.error_bounds``,
``spec.options``, ``spec.check_k(...)``) and never compare method names, so adding a
method is one kernel, its stub and one module that registers its spec.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .._validation import check_int

__all__ = ["MethodSpec", "TAYLOR_DIAGNOSTICS", "weight_power_from"]

#: the four diagnostic columns of the Taylor kernel; other kernels name theirs
TAYLOR_DIAGNOSTICS = ("rcond", "sigma_min_A", "sigma_min_A21", "rank")


def _no_options(given, *, owner=None):
    return {}


@dataclass(frozen=True)
class MethodSpec:
    """One stencil method as the library sees it.

    Parameters
    ----------
    name : str
        Registry key and the value of every ``method=`` option.
    title : str
        What the method is, for messages and help texts (e.g. "Taylor least squares
        (Turner et al.)").
    kernel : callable
        ``kernel(points, neighbors, centers, bases, *, order, targets, weight_power,
        bounds, n_threads, **kernel_options) -> (weights (m, k, t), diagnostics (m, 4),
        status (m,))`` on validated arrays; ``targets`` are multi-indices or dicts
        ``{multi-index: coefficient}``.
    n_unknowns : callable
        ``n_unknowns(order, dim) -> int``: the least ``k`` a stencil of ``order`` needs.
    monomials : callable
        ``monomials(order, dim) -> tuple``: the derivative multi-indices returned.
    max_order : int
        Highest ``order``.
    fixed_order : int or None
        The only order the method has (``order`` must be it), or None.
    options : tuple of str
        Method-specific options (``centre``, ``rbf`` …) that ``check_options`` turns
        into kernel keywords; any other method-specific option given is refused.
    check_options : callable
        ``check_options(given: dict, owner=None) -> dict`` of kernel keywords, defaults
        filled in; raises ``ValueError`` naming a bad option.
    weighted : bool
        Takes the ``weights`` option (Turner et al.'s ``h^-d`` row weights).
    error_bounds : bool
        Its diagnostics hold Turner et al.'s bound ingredients (``bounds=True``).
    rank_fallback : bool
        The guard may refit rank-deficient rows without the unsupported monomials.
    polynomial_rank : bool
        The ``rank`` diagnostic counts polynomial unknowns (False: the rank of a larger
        system, e.g. RBFs plus polynomials, which cannot be compared with ``n_unknowns``).
    full_rank : callable or None
        ``full_rank(order, dim) -> int``: the ``rank`` of a healthy stencil (default
        ``n_unknowns``).
    diagnostics : tuple of str
        Names of the kernel's four diagnostic columns (``rcond`` first, ``rank`` last);
        names starting with ``sigma_`` are error-bound ingredients, reported with
        ``bounds=True`` only.
    diagnostic_dtypes : dict
        Columns kept per point with this dtype (integers, bit masks) besides ``rcond``.
    extra_targets : callable or None
        ``extra_targets(dim) -> dict`` name → target computed besides the monomials
        (e.g. ``{"laplacian": {(2, 0): 1, (0, 2): 1}}`` when the method has a Laplacian
        but no separate second derivatives).
    check_k : callable or None
        ``check_k(k, dim, kernel_options, owner=None)``: a rule on ``k`` beyond
        ``n_unknowns`` (raises ``ValueError`` naming ``k``).
    default_k : callable or None
        ``default_k(order, dim, kernel_options) -> int`` for scattered data (default
        twice the unknowns).
    stencil : callable or None
        ``stencil(offsets, *, order, weights, **options) -> StencilWeights`` when the
        single-stencil entry needs more than the generic one (extra attributes).
    stencil_options : tuple of str
        Options of the single-stencil entry only (e.g. ``rtol``, ``strict``).
    order_policies : tuple of str
        Names ``order`` may take besides an int (e.g. ``"highest-complete"``).
    """

    name: str
    title: str
    kernel: Callable
    n_unknowns: Callable
    monomials: Callable
    max_order: int = 4
    fixed_order: int | None = None
    options: tuple = ()
    check_options: Callable = field(default=_no_options)
    weighted: bool = True
    error_bounds: bool = False
    rank_fallback: bool = False
    polynomial_rank: bool = True
    full_rank: Callable | None = None
    diagnostics: tuple = TAYLOR_DIAGNOSTICS
    diagnostic_dtypes: dict = field(default_factory=dict)
    extra_targets: Callable | None = None
    check_k: Callable | None = None
    default_k: Callable | None = None
    stencil: Callable | None = None
    stencil_options: tuple = ()
    order_policies: tuple = ()

    def __repr__(self):
        return f"MethodSpec({self.name!r}: {self.title})"

    def rank_needed(self, order, dim):
        """The ``rank`` diagnostic of a healthy stencil."""
        return (self.full_rank or self.n_unknowns)(order, dim)

    def default_neighbours(self, order, dim, options):
        """Default ``k`` for scattered data: twice the unknowns unless the method says."""
        if self.default_k is not None:
            return self.default_k(order, dim, options)
        return 2 * self.n_unknowns(order, dim)

    def named_diagnostics(self, diagnostics, expand=None, *, bounds=False):
        """Per-point diagnostics by name from the kernel's ``(m, 4)`` columns.

        ``rcond`` always; error-bound ingredients (``sigma_*``) with ``bounds=True``;
        the columns of ``diagnostic_dtypes`` with their dtype. ``expand`` maps per-stencil
        arrays to per-point ones (coincident points).
        """
        expand = expand or (lambda a: a)
        out = {}
        for i, name in enumerate(self.diagnostics):
            if name in self.diagnostic_dtypes:
                out[name] = expand(diagnostics[:, i].astype(self.diagnostic_dtypes[name]))
            elif name == "rcond" or (bounds and name.startswith("sigma_")):
                out[name] = expand(diagnostics[:, i])
        return out

    def targets(self, order, dim):
        """``(names, targets)``: the multi-indices returned plus any extra targets."""
        ms = list(self.monomials(order, dim))
        extra = self.extra_targets(dim) if self.extra_targets is not None else {}
        return ms + list(extra), ms + list(extra.values())


def weight_power_from(weights, *, owner=None):
    """Map the public ``weights`` option to the exponent ``d`` of Turner et al.'s ``W = h^-d``.

    Turner et al. writes each Taylor row divided by ``h_j`` (its matrix ``A``) and weights it
    by ``W = diag(h_j^-d)``:

    * ``None`` (default): unweighted Taylor rows ``f_j − f_0 = Σ D^α f ν^α/α!``, i.e. the
      paper's ``W A`` with ``W = diag(h_j)`` (``d = −1``); the best-behaved choice for
      Laplacians on irregular samples (fewest rows need the guard);
    * ``0``: the paper's classical least squares (rows of ``A``);
    * ``d`` in 1..4: the paper's weighted least squares, ``W = diag(h_j^-d)``.

    The paper's Propositions 3.3/4.3 hold for any positive ``W``, so the reported
    ``sigma_min_A``/``sigma_min_A21`` always refer to the system actually solved.
    """
    if weights is None:
        return -1.0
    return float(check_int(weights, name="weights", low=0, high=4, owner=owner))
