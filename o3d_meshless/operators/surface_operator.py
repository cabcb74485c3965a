"""The shared part of every surface operator: options, their checks, and the
points → neighbourhoods → frames → stencils (+ guard) steps of ``fit``.

Every operator has a keyword-only ``__init__`` that only stores its options,
``fit(geometry) -> self``, and fitted attributes ending in ``_``.
"""
from __future__ import annotations


import numpy as np

from . import assembly
from .._params import Params
from .._validation import check_bool, check_int, check_values, n_threads_from_workers
from .guard import MAX_AMPLIFICATION, RCOND_MIN, guarded_stencils, repair_laplacian_rows
from ..sampling.sampled_surface import Sampling, build, check_compatible, check_options
from ..stencils import get_method, method_options, weight_power_from
from .._warnings import warn

__all__ = ["_SurfaceOperator"]



class _SurfaceOperator(Params):
    """Shared options and the points → neighbourhoods → frames part of ``fit``."""

    _default_order = 2
    _min_order = 1

    def __init__(self, *, method="taylor", k=16, order=None, weights=None, normals="auto",
                 height_order=2, orient=None, guard=True, bounds=False, workers=-1,
                 progress=None, centre=None, rbf=None, shape=None, ghosts=None,
                 outliers="exclude", denoise="auto"):
        self.method = method
        self.outliers = outliers
        self.denoise = denoise
        self.centre = centre
        self.rbf = rbf
        self.shape = shape
        self.ghosts = ghosts
        self.k = k
        self.order = order
        self.weights = weights
        self.normals = normals
        self.height_order = height_order
        self.orient = orient
        self.guard = guard
        self.bounds = bounds
        self.workers = workers
        self.progress = progress

    def _check_params(self):
        name = type(self).__name__
        spec = self._spec = get_method(self.method, owner=name)
        self._kernel_options = method_options(spec, centre=self.centre, rbf=self.rbf,
                                              shape=self.shape, ghosts=self.ghosts, owner=name)
        if spec.max_order < self._min_order:
            raise ValueError(f"{name} needs `order` >= {self._min_order}; method {spec.name!r} "
                             f"({spec.title}) goes up to order {spec.max_order}: choose another "
                             "method")
        # a method with a lower highest order (moments: 2) caps the class default to it
        self._order = min(self._default_order, spec.max_order) if self.order is None \
            else check_int(
            self.order, name="order", low=self._min_order, high=spec.max_order, owner=name)
        check_options(k=self.k, normals=self.normals, height_order=self.height_order,
                      orient=self.orient, outliers=self.outliers, denoise=self.denoise,
                      owner=name)
        if spec.check_k is not None:
            spec.check_k(self.k, 2, self._kernel_options, owner=name)
        if self.weights is not None and not spec.weighted:
            raise ValueError(f"`weights` of {name} must be None for method {spec.name!r} (the "
                             f"published fit is unweighted); got {self.weights!r}")
        p = spec.n_unknowns(self._order, 2)
        if self.k < p:
            raise ValueError(f"`k` of {name} must be at least {p} for order {self._order} "
                             f"(one neighbour per unknown derivative); got {self.k}: raise `k` "
                             "or lower `order`")
        for flag in ("guard", "bounds"):
            check_bool(getattr(self, flag), name=flag, owner=name)
        if self.progress is not None:
            check_bool(self.progress, name="progress", owner=name)
        self._wp = weight_power_from(self.weights, owner=name)
        self._n_threads = n_threads_from_workers(self.workers)

    def _prepare(self, geometry, stages):
        """The :class:`~o3d_meshless.Sampling` of ``geometry`` (or ``geometry`` itself)."""
        self._check_params()
        owner = type(self).__name__
        if isinstance(geometry, Sampling):
            check_compatible(geometry, k=self.k, normals=self.normals,
                             height_order=self.height_order, orient=self.orient, owner=owner,
                             outliers=self.outliers, denoise=self.denoise)
            sampling = geometry
        else:
            sampling = build(geometry, k=self.k, normals=self.normals,
                             height_order=self.height_order, orient=self.orient,
                             outliers=self.outliers, denoise=self.denoise,
                             n_threads=self._n_threads, stages=stages, owner=owner)
        self.sampling_ = sampling
        self.points_ = sampling.points
        self.neighborhoods_ = sampling.neighborhoods
        self._input_order = {}          # frames_/normals_, made when first asked for
        self.diagnostics_ = dict(sampling.diagnostics)
        return sampling.neighborhoods, sampling.frames

    def _expand(self, arr):
        """Per-unique-point array → input order (NaN / False at excluded outliers)."""
        return self.sampling_.expand(arr)

    def _check_input(self, values, n, name):
        """Per-point input values: NaN is allowed at excluded outliers only (their
        columns are empty, so it reaches no other point)."""
        f = check_values(values, n, name=name, allow_nan=True)
        bad = np.isnan(f) if f.ndim == 1 else np.isnan(f).any(axis=tuple(range(1, f.ndim)))
        mask = self.diagnostics_.get("outlier_mask")
        if bad.any() and (mask is None or (bad & ~mask).any()):
            raise ValueError(f"`{name}` must be finite (NaN only at points excluded as "
                             "outliers); got NaN at points of the surface")
        return f

    def _nan_at_outliers(self, values):
        """Per-point results with NaN at the excluded outliers (they have none)."""
        mask = self.diagnostics_.get("outlier_mask")
        if mask is not None and self.sampling_.kept is not None:
            values = np.array(values, dtype=np.float64)
            values[mask] = np.nan
        return values

    def _embed(self, A):
        """Operator on the kept points → on every input point (outliers: empty rows and
        columns); ``A`` itself when no point was excluded."""
        kept = self.sampling_.kept
        if kept is None:
            return A
        return assembly.embed_rows_cols(A, kept, len(self.sampling_.points))

    # In the input order these are copies when the points were reordered or merged
    # (neighbors.MORTON_MIN_POINTS): made on first use, not during the fit (peak memory).
    @property
    def frames_(self):
        """ndarray of shape (n, 3, 3): rows ``(t_u, t_v, n)`` per input point."""
        cache = self._fitted_cache()
        if "frames" not in cache:
            cache["frames"] = self.sampling_.expand(self.sampling_.frames)
        return cache["frames"]

    @property
    def normals_(self):
        """ndarray of shape (n, 3): unit normal per input point."""
        cache = self._fitted_cache()
        if "normals" not in cache:
            cache["normals"] = np.ascontiguousarray(self.frames_[:, 2])
        return cache["normals"]

    def _fitted_cache(self):
        try:
            return self.__dict__["_input_order"]
        except KeyError:            # not fitted: hasattr(op, "frames_") is False
            raise AttributeError("not fitted yet: call fit first") from None

    def _stencils(self, nb, frames, targets, dominance_target, min_order):
        bases = np.ascontiguousarray(frames[:, :2])          # tangent axes t_u, t_v
        st = guarded_stencils(nb, bases, method=self._spec,
                              order=self._order, targets=targets, weight_power=self._wp,
                              dominance_target=dominance_target, min_order=min_order,
                              guard=self.guard, bounds=self.bounds, n_threads=self._n_threads,
                              kernel_options=self._kernel_options,
                              max_amplification=None if dominance_target is not None
                              else MAX_AMPLIFICATION)
        if dominance_target is not None:
            sampling = self.sampling_
            repair_laplacian_rows(st, nb.points, bases,
                                  target=dominance_target, k=nb.k, boundary=sampling.boundary,
                                  conormals=sampling.conormals,
                                  find_boundary=not sampling.boundary_known)
        diag = self.diagnostics_
        expand = self._expand
        diag.update(self._spec.named_diagnostics(st.diagnostics, expand, bounds=self.bounds))
        diag["condition"] = expand(1.0 / np.maximum(st.diagnostics[:, 0], 1e-300))
        diag["k_used"] = expand(st.k_used)
        diag["order_used"] = expand(st.order_used)
        diag["guard_rows"] = int(st.enlarged.sum())
        if st.fallback is not None:      # rows fitted without unsupported monomials
            diag["fallback_rows"] = int(st.fallback.sum())
            diag["fallback_mask"] = expand(st.fallback)
        diag["failed_rows"] = int(st.failed.sum())
        diag["failed_mask"] = expand(st.failed)
        diag["guard_attempts"] = st.attempts
        if st.positive is not None:
            diag["positive_rows"] = int(st.positive.sum())
            diag["positive_mask"] = expand(st.positive)
            diag["boundary_rows"] = int(st.boundary.sum())
            diag["boundary_mask"] = expand(st.boundary)
        if st.failed.any():
            if dominance_target is not None:
                what = ("Laplacian rows are not consistent even with nonnegative weights "
                        "(corners, or neighbourhoods that see no curvature in some "
                        "direction); they cannot cause negative eigenvalues but are wrong "
                        "pointwise")
                fix = ("give the geometry's normals or a larger k, or use form='weak' for "
                       "spectra")
            else:
                what, fix = _gradient_failures(st, self.weights)
            warn(f"{type(self).__name__}: {int(st.failed.sum())} of {len(st.failed)} "
                 f"{what}. To fix: {fix}. Which rows: fit the {type(self).__name__} "
                 "estimator and read its diagnostics_['failed_mask']", RuntimeWarning)
        return st

    def _check_fitted(self, attr):
        if not hasattr(self, attr):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(geometry) "
                             "first")


def _gradient_failures(st, weights):
    """``(what, fix)`` of the warning about derivative stencils that still fail the guard:
    rank-deficient neighbourhoods and noise-amplifying weights need different fixes."""
    rank = int(np.count_nonzero(st.failed & ~(st.diagnostics[:, 0] >= RCOND_MIN)))
    amplifying = int(np.count_nonzero(st.failed)) - rank
    parts, fixes = [], []
    if rank:
        parts.append(f"{rank} rank-deficient (the neighbours do not determine the fit)")
        fixes.append("give a larger k or the geometry's normals")
    if amplifying:
        parts.append(f"{amplifying} amplifying noise more than {MAX_AMPLIFICATION:g}× "
                     "(r · Σ|w| of a first derivative)")
        fixes.append("use weights=None (distance weights let the nearest neighbours "
                     "dominate)" if weights is not None else
                     "give a larger k or lower the order")
    what = ("stencils still fail the guard after enlarging to 3×k and lowering the order: "
            + ", ".join(parts))
    return what, "; ".join(fixes)
