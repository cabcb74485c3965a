"""A sampled surface ready for stencils: points, neighbourhoods, frames, open boundary.

:func:`prepare` computes it once; every surface operator's ``fit`` accepts it in place of
the geometry, so fitting :class:`~o3d_meshless.LaplaceBeltrami`,
:class:`~o3d_meshless.SurfaceGradient` and :class:`~o3d_meshless.Divergence` on one
:class:`Sampling` runs the k-NN search, the normals and the boundary detection once.
Operators fitted on a geometry build their own (``op.sampling_``).

Pipeline: points (adapters) → coincident merge and k-NN (neighbors) → frames: the
geometry's normals, else a mesh's area-weighted vertex normals, else PCA + height fit with
wrapped neighbourhoods refitted (frames) → far-side neighbours dropped when the normals are
a mesh's (frames.same_sheet) → open boundary and conormals (boundary).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._progress import Stages
from ._validation import check_int, check_option, check_values, n_threads_from_workers
from .boundary import detect_boundary
from .frames import (HEIGHT_ORDERS, ORIENT_OPTIONS, estimated_frames, frames_from_normals,
                     orient_normals, same_sheet)
from .neighbors import Neighborhoods, knn
from ._typing import ArrayLike, Geometry

__all__ = ["Sampling", "prepare", "NORMALS_OPTIONS", "HEIGHT_ORDERS"]

NORMALS_OPTIONS = ("auto", "estimate")


@dataclass
class Sampling:
    """Points, neighbourhoods, tangent frames and open boundary of a sampled surface.

    Coincident input points are merged (see :mod:`o3d_meshless.neighbors`): the arrays
    below marked *unique* have one row per distinct point; :meth:`expand` maps them back.

    Attributes
    ----------
    points : ndarray of shape (n, 3)
        The input points, in input order.
    neighborhoods : Neighborhoods
        k nearest neighbours of the unique points (far-side neighbours dropped for meshes).
    frames : ndarray of shape (n_unique, 3, 3)
        Rows ``(t_u, t_v, normal)``.
    boundary : ndarray of shape (n_unique,), bool
        Open-boundary points.
    conormals : ndarray of shape (n_unique, 2)
        Outward conormals of boundary points in ``(t_u, t_v)`` coordinates.
    boundary_known : bool
        The boundary came from a mesh's boundary edges (exact), not from the gap test.
    options : dict
        ``k``, ``normals`` (``"auto"``, ``"estimate"`` or ``"array"``), ``height_order``,
        ``orient``.
    diagnostics : dict
        ``degenerate_frames``, ``n_coincident``, ``refined_normals``, ``boundary_mask``
        (input order), ``boundary_rows``.
    """

    points: np.ndarray
    neighborhoods: Neighborhoods
    frames: np.ndarray
    boundary: np.ndarray
    conormals: np.ndarray
    boundary_known: bool
    options: dict
    diagnostics: dict = field(default_factory=dict)

    def expand(self, arr):
        """Per-unique-point array → per-input-point array (coincident points share)."""
        return self.neighborhoods.expand(arr)

    def __repr__(self):
        return (f"Sampling(n={len(self.points)}, k={self.options['k']}, "
                f"normals={self.options['normals']!r}, "
                f"boundary_points={int(self.boundary.sum())})")


def prepare(geometry: Geometry, *, k: int = 16, normals: str | ArrayLike = "auto",
            height_order: int = 2, orient: str | None = None, workers: int = -1,
            progress: bool | None = None) -> Sampling:
    """Neighbourhoods, frames and open boundary of a surface, for reuse by several operators.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry or array_like of shape (n, 3)
    k, normals, height_order, orient, workers, progress :
        As in :class:`~o3d_meshless.LaplaceBeltrami`; an operator fitted on the result
        must be given the same ``k``, ``normals``, ``height_order`` and ``orient``.

    Returns
    -------
    Sampling

    Examples
    --------
    >>> import numpy as np, o3d_meshless as om
    >>> p = np.random.default_rng(0).normal(size=(2000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> s = om.prepare(p)
    >>> L = om.LaplaceBeltrami().fit(s).L_           # one k-NN and one frames pass
    >>> g = om.SurfaceGradient().fit(s).apply(p[:, 2])
    >>> L.shape, g.shape
    ((2000, 2000), (2000, 3))
    """
    check_options(k=k, normals=normals, height_order=height_order, orient=orient)
    stages = Stages(3, desc="prepare", progress=progress)
    try:
        return build(geometry, k=k, normals=normals, height_order=height_order, orient=orient,
                     n_threads=n_threads_from_workers(workers), stages=stages)
    finally:
        stages.close()


def check_options(*, k, normals, height_order, orient, owner=None):
    """Validate the options a sampling depends on (``ValueError`` naming the option)."""
    check_int(k, name="k", low=3, owner=owner)
    if isinstance(normals, str) or normals is None:
        check_option(normals, NORMALS_OPTIONS, name="normals", owner=owner)
    check_option(check_int(height_order, name="height_order", owner=owner), HEIGHT_ORDERS,
                 name="height_order", owner=owner)
    check_option(orient, ORIENT_OPTIONS, name="orient", owner=owner)


def check_compatible(sampling, *, k, normals, height_order, orient, owner):
    """An operator fitted on ``sampling`` must ask for the sampling it gets."""
    want = {"k": k, "normals": "array" if not isinstance(normals, str) else normals,
            "height_order": height_order, "orient": orient}
    for name, value in want.items():
        have = sampling.options[name]
        if value != have:
            raise ValueError(f"`{name}` of {owner} is {value!r} but the Sampling was prepared "
                             f"with {name}={have!r}: pass {name}={have!r}, or prepare the "
                             f"sampling with {name}={value!r}")
    if not isinstance(normals, str) and not np.array_equal(
            np.asarray(normals), sampling.options["normals_array"]):
        raise ValueError(f"`normals` of {owner} differ from the array the Sampling was "
                         "prepared with")


def build(geometry, *, k, normals, height_order, orient, n_threads, stages, owner=None):
    """:class:`Sampling` of ``geometry`` (options already checked); stages time the steps."""
    from .adapters import as_points, mesh_boundary, reference_normals

    with stages("points"):
        # a copy: the fitted operator keeps it, the caller may change theirs
        points = np.array(as_points(geometry, dims=(3,)), copy=True)
        given, oriented = given_normals(geometry, normals, len(points), owner=owner)
    with stages("neighbours"):
        nb = knn(points, k, n_threads=n_threads, name="geometry")
    with stages("frames"):
        frames, status, refined = oriented_frames(
            nb, given, height_order=height_order, orient=orient, n_threads=n_threads,
            reference=reference_normals(geometry) if given is None else None)
        degenerate = status != 0
        if degenerate.all():
            raise ValueError("`geometry` has no surface: every neighbourhood is collinear "
                             "(points on a line?); surface operators need a 2-D sampling")
        if oriented:       # a mesh's normals: drop neighbours facing the other way
            nb = nb.filtered(same_sheet(frames), n_threads=n_threads)
        known = mesh_boundary(geometry)
        if known is not None and nb.inverse is not None:     # a group is on it if any copy is
            known = np.bincount(nb.inverse, known, len(nb.points)) > 0
        boundary, conormals = detect_boundary(nb, frames, known=known, n_threads=n_threads)
    options = {"k": k, "normals": normals if isinstance(normals, str) else "array",
               "height_order": height_order, "orient": orient,
               "normals_array": None if isinstance(normals, str) else np.array(normals)}
    sampling = Sampling(points, nb, frames, boundary, conormals, known is not None, options)
    sampling.diagnostics = sampling_diagnostics(sampling, status, refined)
    return sampling


def oriented_frames(nb, given, *, height_order, orient, n_threads, reference=None,
                    centre=None):
    """``(frames, status, refined)`` of the unique points of ``nb``.

    ``given`` normals (input order, NaN rows: estimate) are used where finite; the rest
    are estimated from the neighbourhoods and oriented by ``orient``, towards
    ``reference`` normals when given (a mesh's face normals), or ``"outward"`` from
    ``centre`` (default the centroid).
    """
    if given is not None and nb.inverse is not None:
        given = np.ascontiguousarray(given[nb.first_members()])
    status = np.zeros(len(nb.points), dtype=np.intc)
    refined = np.zeros(len(nb.points), dtype=bool)
    missing = None if given is None else ~np.isfinite(given).all(axis=1)
    if given is not None and not missing.any():
        return frames_from_normals(given), status, refined
    frames, status, refined = estimated_frames(nb.points, nb.indices,
                                               height_order=height_order,
                                               n_threads=n_threads)
    ref = given if given is not None else reference
    if ref is not None and given is None and nb.inverse is not None:
        ref = np.ascontiguousarray(ref[nb.first_members()])
    orient_normals(nb.points, frames, nb.indices, orient,
                   reference=None if ref is None else np.nan_to_num(ref), centre=centre)
    if given is not None:         # mesh vertices in no face: estimated
        frames[~missing] = frames_from_normals(given[~missing])
        status[~missing] = 0
        refined &= missing
    return frames, status, refined


def sampling_diagnostics(sampling, status, refined):
    """The diagnostics every :class:`Sampling` carries."""
    nb = sampling.neighborhoods
    return {"degenerate_frames": int((status != 0).sum()),
            "n_coincident": 0 if nb.inverse is None else int(len(nb.inverse) - len(nb.points)),
            "refined_normals": int(refined.sum()),
            "boundary_mask": sampling.expand(sampling.boundary),
            "boundary_rows": int(sampling.boundary.sum())}


def given_normals(geometry, normals, n, *, owner=None):
    """Normals to use instead of estimating, and whether they are consistently oriented.

    Returns ``(normals, oriented)``: an (n, 3) array (NaN rows: estimate those) or None;
    ``oriented`` is True for a mesh's normals (from its face winding).
    """
    from .adapters import as_normals, mesh_normals

    where = f" of {owner}" if owner else ""
    if isinstance(normals, str):
        if normals == "estimate":
            return None, False
        given = as_normals(geometry)
        if given is not None:
            return given, False
        given = mesh_normals(geometry)
        return given, given is not None
    given = check_values(normals, n, name="normals", allow_2d=True)
    if given.ndim != 2 or given.shape[1] != 3:
        raise ValueError(f"`normals`{where} must be 'auto', 'estimate' or an array of shape "
                         f"(n, 3) with n = {n}; got shape {given.shape}")
    zero = np.linalg.norm(given, axis=1) < 1e-12
    if zero.any():
        raise ValueError(f"`normals`{where} must be non-zero for every point; {int(zero.sum())} "
                         "rows are zero (pass normals='estimate' to estimate them all)")
    return given, False
