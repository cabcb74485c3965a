"""A sampled surface ready for stencils: points, neighbourhoods, frames, open boundary.

:func:`prepare` computes it once; every surface operator's ``fit`` accepts it in place of
the geometry, so fitting :class:`~o3d_meshless.LaplaceBeltrami`,
:class:`~o3d_meshless.SurfaceGradient` and :class:`~o3d_meshless.Divergence` on one
:class:`Sampling` runs the k-NN search, the normals and the boundary detection once.
Operators fitted on a geometry build their own (``op.sampling_``).

Pipeline: points (adapters) → coincident merge and k-NN (neighbors) → outliers left out
and the noise measured (outliers) → noisy clouds projected onto their local fits
(denoise) → frames: the geometry's normals, else a mesh's area-weighted vertex normals,
else PCA + height fit with wrapped neighbourhoods refitted (frames) → for a mesh,
neighbours not near along its faces dropped and frames at one-sided tips turned across
the tip (mesh_sheets) → open boundary and conormals (boundary).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._progress import Stages
from .._validation import check_int, check_option, check_values, n_threads_from_workers
from .boundary import detect_boundary
from .frames import (HEIGHT_ORDERS, ORIENT_OPTIONS, estimated_frames, frames_from_normals,
                     orient_normals)
from .neighbors import Neighborhoods, knn
from .cloud_sheets import separate_sheets, sheet_knn
from .denoise import project_to_surface
from .outliers import OUTLIER_OPTIONS, outliers_of, surface_fit
from .._typing import ArrayLike, Geometry

__all__ = ["Sampling", "prepare", "NORMALS_OPTIONS", "HEIGHT_ORDERS", "OUTLIER_OPTIONS"]

NORMALS_OPTIONS = ("auto", "estimate")
#: ``denoise="auto"`` smooths a point cloud (never a mesh's vertices) whose noise level
#: (median RMS distance of the neighbours from their fitted surface, in spacings)
#: exceeds this. On the 20 000-point ellipsoid the measured level is 0.001 clean, 0.047
#: at noise 0.05 h and 0.18 at 0.2 h
DENOISE_LEVEL = 0.03
#: the denoising (:func:`o3d_meshless.sampling.denoise.project_to_surface`): five passes of
#: quadric fits over 16 neighbours took the ellipsoid's modes 1–30 at noise
#: 0.05 / 0.2 / 0.5 h from 0.22 / 2.6 / 10.4 % to 0.020 / 0.079 / 0.31 % (over 20 or 40
#: neighbours the fits' curvature bias left 0.11 / 1.3 / 3.4 %)
DENOISE_ITERATIONS = 5
DENOISE_K = 16
#: noise scatters points by the same amount at every scale, a coarse sampling's fit error
#: grows with the neighbourhood (as its radius cubed): ``"auto"`` denoises only when the
#: fits over all k neighbours leave at most this ratio of the residual of the fits over
#: the nearest SMALL_FIT_K. Measured (k = 16): noisy ellipsoid/torus 1.10-1.12, raw scan
#: bun000.ply 1.10; vertex clouds of coarse meshes 1.36 (bun_zipper) to 1.71
#: (bun_zipper_res3), Spot 1.69, bunny.off 1.48, cow.off 1.68 (smoothing those would
#: shrink their ears and horns: Spot's modes moved 3.4 %, bunny.off's 6.6 %)
NOISE_SCALE_RATIO = 1.25
SMALL_FIT_K = 10


@dataclass
class Sampling:
    """Points, neighbourhoods, tangent frames and open boundary of a sampled surface.

    Coincident input points are merged (see :mod:`o3d_meshless.sampling.neighbors`): the arrays
    below marked *unique* have one row per distinct point; :meth:`expand` maps them back.

    Attributes
    ----------
    points : ndarray of shape (n, 3)
        The input points, in input order.
    neighborhoods : Neighborhoods
        k nearest neighbours of the unique points (for a mesh, neighbours not near along
        its faces dropped).
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
        ``orient``, ``outliers``.
    diagnostics : dict
        ``degenerate_frames``, ``n_coincident``, ``refined_normals``, ``boundary_mask``
        (input order), ``boundary_rows``, ``outlier_mask`` (input order), ``n_outliers``,
        ``noise`` (per input point: RMS distance of its neighbours from their fitted
        surface; NaN for outliers), ``noise_level`` (median noise over the spacing,
        σ/h), ``coarse`` (that scatter is a sampling too coarse for the shape, not
        noise), ``denoised``, ``sheet_conflicts`` (points whose k nearest reached
        another sheet passing close by; see :mod:`o3d_meshless.sampling.cloud_sheets`),
        ``sheets_unresolved`` and its share of the points (their neighbourhoods still
        hold another sheet after the split: sheets about a spacing apart).
    kept : ndarray of shape (n_kept,), intp, or None
        Input indices of the points the surface is built from (outliers excluded);
        ``None`` when every point is kept. ``neighborhoods`` and every array above
        marked *unique* describe these points only.

    Examples
    --------
    :func:`o3d_meshless.prepare` builds it once; operators fitted on it reuse it:

    >>> import o3d_meshless as om
    >>> from o3d_meshless.testing import random_sphere
    >>> s = om.prepare(random_sphere(500, seed=0))
    >>> s.points.shape, s.frames.shape, int(s.boundary.sum()), s.kept   # closed: no boundary
    ((500, 3), (500, 3, 3), 0, None)
    >>> om.LaplaceBeltrami().fit(s).L_.shape
    (500, 500)
    """

    points: np.ndarray
    neighborhoods: Neighborhoods
    frames: np.ndarray
    boundary: np.ndarray
    conormals: np.ndarray
    boundary_known: bool
    options: dict
    diagnostics: dict = field(default_factory=dict)
    kept: np.ndarray | None = None

    def expand(self, arr):
        """Per-unique-point array → per-input-point array (coincident points share;
        excluded outliers get NaN, or False/0 for boolean/integer arrays)."""
        return embed(self.neighborhoods.expand(arr), self.kept, len(self.points))

    @property
    def outlier_mask(self):
        """ndarray of shape (n,), bool: input points excluded as outliers."""
        return self.diagnostics["outlier_mask"]

    def __repr__(self):
        return (f"Sampling(n={len(self.points)}, k={self.options['k']}, "
                f"normals={self.options['normals']!r}, "
                f"boundary_points={int(self.boundary.sum())}, "
                f"outliers={self.diagnostics.get('n_outliers', 0)})")


def embed(arr, kept, n):
    """Rows of the kept points → rows of all ``n`` input points; the others get NaN
    (False for booleans, 0 for integers). ``kept`` None: ``arr`` itself."""
    if kept is None:
        return arr
    arr = np.asarray(arr)
    fill = False if arr.dtype == bool else (0 if arr.dtype.kind in "iu" else np.nan)
    out = np.full((n,) + arr.shape[1:], fill, dtype=arr.dtype)
    out[kept] = arr
    return out


def prepare(geometry: Geometry, *, k: int = 16, normals: str | ArrayLike = "auto",
            height_order: int = 2, orient: str | None = None, outliers: str = "exclude",
            denoise: str | bool = "auto", workers: int = -1,
            progress: bool | None = None) -> Sampling:
    """Neighbourhoods, frames and open boundary of a surface, for reuse by several operators.

    Parameters
    ----------
    geometry : Open3D/trimesh geometry or array_like of shape (n, 3)
    k, normals, height_order, orient, workers, progress :
        As in :class:`~o3d_meshless.LaplaceBeltrami`; an operator fitted on the result
        must be given the same ``k``, ``normals``, ``height_order``, ``orient`` and
        ``outliers``.
    outliers : {"exclude", "keep", "error"}, default="exclude"
        Points off the surface their neighbours describe, and stray pieces of fewer than
        ``k + 1`` points (see :mod:`o3d_meshless.sampling.outliers`); a mesh's vertices that lie
        in a face are its surface and never outliers. ``"exclude"``: they take no
        part in any operator (no row, no column, no mass, in nobody's neighbourhood), and
        per-point results there are NaN; ``diagnostics["outlier_mask"]`` marks them.
        ``"keep"``: treat them as surface points (the behaviour before detection; the
        neighbourhoods of a cloud are then not split by sheet either, see
        :mod:`o3d_meshless.sampling.cloud_sheets`).
        ``"error"``: raise a ValueError that says how many there are.
    denoise : {"auto", True, False}, default="auto"
        Build the operators on smoothed positions (:mod:`o3d_meshless.sampling.denoise`, five
        passes of local quadric fits over 16 neighbours), while every result
        stays attached to the input points. ``"auto"``: only for point clouds (a mesh's
        vertices are its surface) whose noise level exceeds ``DENOISE_LEVEL`` (0.03
        spacings) and is noise, not the fit error of a sampling too coarse for the
        shape (``NOISE_SCALE_RATIO``). ``diagnostics["denoised"]`` says whether it was
        done.

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

    A stray point is found and left out:

    >>> q = np.vstack([p, [[0.0, 0.0, 3.0]]])
    >>> s = om.prepare(q)
    >>> s.diagnostics["n_outliers"], bool(s.outlier_mask[-1])
    (1, True)
    """
    check_options(k=k, normals=normals, height_order=height_order, orient=orient,
                  outliers=outliers, denoise=denoise)
    stages = Stages(3, desc="prepare", progress=progress)
    try:
        return build(geometry, k=k, normals=normals, height_order=height_order, orient=orient,
                     outliers=outliers, denoise=denoise,
                     n_threads=n_threads_from_workers(workers), stages=stages)
    finally:
        stages.close()


def check_options(*, k, normals, height_order, orient, outliers="exclude", denoise="auto",
                  owner=None):
    """Validate the options a sampling depends on (``ValueError`` naming the option)."""
    check_int(k, name="k", low=3, owner=owner)
    check_option(outliers, OUTLIER_OPTIONS, name="outliers", owner=owner)
    if not (isinstance(denoise, (bool, np.bool_)) or denoise == "auto"):
        where = f" of {owner}" if owner else ""
        raise ValueError(f"`denoise`{where} must be 'auto', True or False; got {denoise!r}")
    if isinstance(normals, str) or normals is None:
        check_option(normals, NORMALS_OPTIONS, name="normals", owner=owner)
    check_option(check_int(height_order, name="height_order", owner=owner), HEIGHT_ORDERS,
                 name="height_order", owner=owner)
    check_option(orient, ORIENT_OPTIONS, name="orient", owner=owner)


def check_compatible(sampling, *, k, normals, height_order, orient, owner,
                     outliers="exclude", denoise="auto"):
    """An operator fitted on ``sampling`` must ask for the sampling it gets."""
    want = {"k": k, "normals": "array" if not isinstance(normals, str) else normals,
            "height_order": height_order, "orient": orient, "outliers": outliers,
            "denoise": denoise}
    for name, value in want.items():
        have = sampling.options.get(name, {"outliers": "keep", "denoise": False}.get(name))
        if value != have:
            raise ValueError(f"`{name}` of {owner} is {value!r} but the Sampling was prepared "
                             f"with {name}={have!r}: pass {name}={have!r}, or prepare the "
                             f"sampling with {name}={value!r}")
    if not isinstance(normals, str) and not np.array_equal(
            np.asarray(normals), sampling.options["normals_array"]):
        raise ValueError(f"`normals` of {owner} differ from the array the Sampling was "
                         "prepared with")


def build(geometry, *, k, normals, height_order, orient, n_threads, stages, owner=None,
          outliers="exclude", denoise="auto"):
    """:class:`Sampling` of ``geometry`` (options already checked); stages time the steps."""
    from .adapters import as_points, mesh_boundary, mesh_faces, reference_normals
    from .mesh_sheets import mesh_tip_frames, near_along_mesh

    with stages("points"):
        # a copy: the fitted operator keeps it, the caller may change theirs
        points = np.array(as_points(geometry, dims=(3,)), copy=True)
        given, _ = given_normals(geometry, normals, len(points), owner=owner)
        faces = mesh_faces(geometry)
    with stages("neighbours"):
        # a cloud's neighbours are kept to their own sheet (a mesh's, later, by its edges);
        # not with outliers="keep", the behaviour before detection: the split would cut
        # kept outliers off the surface as sheets of their own (extra zero modes)
        sheets = faces is None and outliers != "keep"
        plain = knn(points, k, n_threads=n_threads, name="geometry")
        nb, conflicts, unresolved = separate_sheets(plain, n_threads=n_threads) if sheets \
            else (plain, 0, 0)
        fit = surface_fit(nb.points, nb.indices, n_threads=n_threads)
        noise, level, noisy = noise_state(nb, fit, n_threads)
        kept, outlier_mask = None, np.zeros(len(points), dtype=bool)
        if outliers != "keep":
            outlier_mask = nb.expand(outliers_of(nb, fit, noisy=noisy, n_threads=n_threads))
            if nb is not plain and outlier_mask.any():
                # a fold sharper than the spacing leaves its points off their own sheet's
                # fit: an outlier must also be off the fit of its plain k nearest
                outlier_mask &= plain.expand(outliers_of(
                    plain, surface_fit(plain.points, plain.indices, n_threads=n_threads),
                    noisy=noisy, n_threads=n_threads))
            if faces is not None:   # a mesh's vertices in a face are its surface
                outlier_mask[np.asarray(faces).ravel()] = False
        if outlier_mask.any():
            count = int(outlier_mask.sum())
            if outliers == "error":
                where = f" of {owner}" if owner else ""
                raise ValueError(
                    f"`geometry` has {count} outlier(s) of {len(points)} points: off the "
                    "surface their neighbours describe, or in stray pieces of fewer than "
                    f"k + 1 = {k + 1} points. Pass outliers='exclude'{where} to leave them "
                    "out (or 'keep' to treat them as surface points)")
            kept = np.flatnonzero(~outlier_mask)
            if len(kept) < k + 1:
                raise ValueError(f"`geometry` has only {len(kept)} points left after "
                                 f"excluding {count} outliers; need at least k + 1 = {k + 1}"
                                 " (pass outliers='keep' or lower `k`)")
            # nobody's neighbourhood may hold an outlier: search again among the rest
            nb, conflicts, unresolved = sheet_knn(points[kept], k, n_threads=n_threads,
                                                  separate=sheets)
            fit = surface_fit(nb.points, nb.indices, n_threads=n_threads)
            noise, level, noisy = noise_state(nb, fit, n_threads)
            if given is not None:
                given = np.ascontiguousarray(given[kept])
        fit_nb = nb
        smooth = bool(denoise) if denoise != "auto" else faces is None and noisy
        if smooth:
            # the operators are measured on the smoothed surface; results stay per input
            # point (coincident points move together, order is kept)
            base = points if kept is None else points[kept]
            moved = project_to_surface(base, k=DENOISE_K, iterations=DENOISE_ITERATIONS,
                                       n_threads=n_threads, sheets=sheets)
            nb, _, _ = sheet_knn(moved, k, n_threads=n_threads, separate=sheets)
    with stages("frames"):
        reference = reference_normals(geometry) if given is None else None
        if reference is not None and kept is not None:
            reference = np.ascontiguousarray(reference[kept])
        frames, status, refined = oriented_frames(
            nb, given, height_order=height_order, orient=orient, n_threads=n_threads,
            reference=reference)
        degenerate = status != 0
        if degenerate.all():
            raise ValueError("`geometry` has no surface: every neighbourhood is collinear "
                             "(points on a line?); surface operators need a 2-D sampling")
        if faces is not None:     # a mesh: neighbours must also be near along its faces
            nb = nb.filtered(near_along_mesh(nb, faces, kept=kept, n_threads=n_threads),
                             n_threads=n_threads)
        known = mesh_boundary(geometry)
        if known is not None and kept is not None:
            known = known[kept]
        if known is not None and nb.inverse is not None:     # a group is on it if any copy is
            known = np.bincount(nb.inverse, known, len(nb.points)) > 0
        tips = 0
        if faces is not None and isinstance(normals, str):    # tips thinner than the spacing
            tips = int(mesh_tip_frames(nb, frames, skip=known, n_threads=n_threads).sum())
        boundary, conormals = detect_boundary(nb, frames, known=known, n_threads=n_threads)
    options = {"k": k, "normals": normals if isinstance(normals, str) else "array",
               "height_order": height_order, "orient": orient, "outliers": outliers,
               "denoise": denoise,
               "normals_array": None if isinstance(normals, str) else np.array(normals)}
    sampling = Sampling(points, nb, frames, boundary, conormals, known is not None, options,
                        kept=kept)
    sampling.diagnostics = sampling_diagnostics(sampling, status, refined)
    sampling.diagnostics.update(
        outlier_mask=outlier_mask, n_outliers=int(outlier_mask.sum()), mesh_tip_frames=tips,
        noise=embed(fit_nb.expand(noise), kept, len(points)), noise_level=level,
        coarse=bool(level > DENOISE_LEVEL and not noisy), denoised=smooth,
        sheet_conflicts=conflicts, sheets_unresolved=unresolved,
        sheets_unresolved_share=unresolved / max(len(nb.points), 1))
    return sampling


def noise_state(nb, fit, n_threads=1):
    """``(noise, level, noisy)``: each point's fit residual (NaN where the fit failed),
    their median over the spacing, and whether that scatter is noise (above
    ``DENOISE_LEVEL`` and not a coarse sampling's fit error, see :func:`is_noise`)."""
    noise = np.where(fit.status == 0, fit.residual, np.nan)
    level = float(np.nanmedian(noise) / nb.spacing) if np.isfinite(noise).any() \
        else float("nan")
    return noise, level, bool(level > DENOISE_LEVEL and is_noise(nb, fit, n_threads))


def is_noise(nb, fit, n_threads=1):
    """Whether the fits' residuals (``fit`` over all of ``nb``'s neighbours) are noise,
    which does not shrink with the neighbourhood, rather than a coarse sampling's fit
    error, which does (see ``NOISE_SCALE_RATIO``)."""
    if nb.k < SMALL_FIT_K + 2:
        return False
    small = surface_fit(nb.points, np.ascontiguousarray(nb.indices[:, :SMALL_FIT_K]),
                        n_threads=n_threads)
    ok = (fit.status == 0) & (small.status == 0)
    if not ok.any():
        return False
    base = float(np.median(small.residual[ok]))
    return base > 0 and float(np.median(fit.residual[ok])) <= NOISE_SCALE_RATIO * base


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
            "boundary_rows": int(sampling.boundary.sum()),
            "outlier_mask": np.zeros(len(sampling.points), dtype=bool), "n_outliers": 0,
            "denoised": False, "coarse": False, "sheet_conflicts": 0,
            "sheets_unresolved": 0, "sheets_unresolved_share": 0.0}


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
