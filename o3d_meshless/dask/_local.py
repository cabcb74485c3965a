"""Work on one part (its owned points plus halo), in plain NumPy: no Dask here.

The single-machine pipeline is :func:`o3d_meshless.sampling.sampled_surface.build`; this module builds the
same :class:`~o3d_meshless.Sampling` for a part's points with the two *global* inputs of
that pipeline supplied from outside instead of recomputed from the part:

* the coincidence tolerance ``COINCIDENT_RTOL × median(distance to the 8th neighbour)``,
  a median over the whole cloud (:func:`o3d_meshless.sampling.neighbors.coincident_groups`);
* the centre of the cloud used by ``orient="outward"``.

Everything else is the package's own code (``estimated_frames``, ``detect_boundary``,
the operators' ``fit`` on a Sampling, ``surface_curvature.curvature``), so a part's
owned rows equal the global ones once its halo holds every point they depend on.

Local arrays are sorted by global id: "first member of a coincident group" and the order
of the unique points then agree with the global run, so merged centroids are bit-identical.
"""
from __future__ import annotations

import numpy as np

from ..sampling.boundary import CONFIRM_FACTOR, detect_boundary
from ..operators.guard import MAX_FACTOR
from ..sampling.neighbors import SCALE_NEIGHBOUR, _drop_self, knn
from ..sampling.sampled_surface import Sampling, oriented_frames, sampling_diagnostics
from ._partition import boxed

#: the Voronoi areas of ``assembly.lumped_areas`` grow neighbourhoods up to this × k
AREA_FACTOR = 4
#: a row depends on its own neighbourhood up to ``ROW_FACTOR × k`` (areas: 4k, guard: 3k,
#: boundary confirmation: 2k) ...
ROW_FACTOR = max(AREA_FACTOR, MAX_FACTOR, CONFIRM_FACTOR)
#: ... and, through the open-boundary mask, on the ``CONFIRM_FACTOR × k`` neighbourhoods
#: of its 2k nearest and of their k nearest (the "lone point" test)
DEP_FACTOR = CONFIRM_FACTOR


def scale_column(k):
    """The column of a ``(n, k + 1)`` distance table that ``coincident_groups`` medians."""
    return min(SCALE_NEIGHBOUR, k)


def box_excess(q, rho, lo, hi):
    """How far each ball ``(q, rho)`` reaches outside the box ``[lo, hi]`` (≤ 0: inside).

    Infinite box faces (the cloud's outer faces) never count.
    """
    q = np.asarray(q, dtype=np.float64)
    rho = np.asarray(rho, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        out = np.maximum(lo[None, :] - (q - rho), (q + rho) - hi[None, :])
    out = np.where(np.isfinite(out), out, -np.inf)
    return out.max(axis=1) if len(q) else np.zeros(0)


# -- neighbourhoods with a given tolerance ---------------------------------------------------

def local_knn(points, k, tol, *, n_threads=1, raw_distances=False):
    """:func:`o3d_meshless.sampling.neighbors.knn` with the whole cloud's coincidence tolerance."""
    return knn(points, k, n_threads=n_threads, tol=tol, raw_distances=raw_distances)


# -- round 2: the halo -----------------------------------------------------------------------

def partition_round(ids, xyz, owned, box, k, tol, below):
    """One pass for both the coincidence scale and the halo, with a provisional ``tol``.

    :func:`halo_round` on neighbourhoods merged with ``tol`` (the whole cloud's is not
    known yet), which also reads, from the same first k-NN query, each owned point's
    distance to its ``scale_column(k)``-th raw neighbour (the coincidence scale is their
    median over the cloud). The result holds for the cloud's own tolerance ``t`` when the
    merges are the same: when no two local points lie at a distance between ``tol`` and
    ``t``. For that check it returns the raw neighbour distances up to ``below`` and
    whether some point's ``k`` raw neighbours all lie within ``below`` (then pairs may be
    missing from the table and the check cannot be made).

    Returns ``((need, total, count, n_owned, n_local, close, unsure), scale_values)``:
    ``need`` the larger of the halo's and the scale balls' reach outside the box, the
    rest as :func:`o3d_meshless.dask._tasks._halo_part`, ``close`` the sorted raw
    distances up to ``below``, and the owned points' scale distances, sorted.
    """
    col = scale_column(k)
    nb = local_knn(xyz, k, tol, raw_distances=True)
    raw, nb.raw_distances = nb.raw_distances, None
    q = xyz[owned]
    d = raw[owned, col]
    scale_need = float(box_excess(q, d, box[0], box[1]).max()) if len(q) else 0.0
    need, total, count = halo_round(ids, xyz, owned, box, k, tol, nb=nb)
    need = max(need, scale_need)
    close = np.sort(raw[:, 1:][raw[:, 1:] <= below])
    unsure = bool((raw[:, -1] <= below).any())
    return (need, total, count, close, unsure), np.sort(d)


def halo_round(ids, xyz, owned, box, k, tol, layers=0, nb=None):
    """How far outside the box the points that the owned rows depend on reach.

    The owned rows use the ``ROW_FACTOR·k`` nearest (unique) points of each owned point
    ``i``; the open-boundary mask that enters them uses the ``2k`` nearest of every
    ``j`` among ``i``'s 2k nearest and of every ``l`` among ``j``'s k nearest. The local
    neighbour list of a point is the global one when its ball (to the farthest neighbour
    it needs) lies inside the region whose points are all present (box + halo): so the
    halo must be at least the largest reach of those balls outside the box.

    ``layers`` > 0 widens the set of rows whose balls must be exact, for operators whose
    row ``i`` also depends on other points' rows: each layer adds the ``ROW_FACTOR·k``
    nearest of the set and every point that has one of the set among its own
    ``ROW_FACTOR·k`` nearest (a weak-form stiffness row averages ``i``'s Voronoi cell
    with the cells that touch it: one layer; the averaged mass caps each edge by both
    ends' stiffness rows: two layers).

    Returns ``(need, sum_of_unique_points, n_unique)`` for the owned unique points (a
    unique point is owned by the part owning its first member). ``nb``: the points'
    neighbourhoods, already made with ``tol``.
    """
    lo, hi = box
    if nb is None:
        nb = local_knn(xyz, k, tol)
    n_u = len(nb.points)
    owned_u = np.flatnonzero(owned[nb.first_members()])
    total = nb.points[owned_u].sum(axis=0) if len(owned_u) else np.zeros(3)
    m_row = ROW_FACTOR * k
    m_dep = DEP_FACTOR * k
    if n_u < m_row + 1:
        return np.inf, total, len(owned_u)
    rows_u = np.flatnonzero(owned) if nb.inverse is None else np.unique(nb.inverse[owned])
    member = np.zeros(n_u, dtype=bool)             # j in 2k-NN(i) for a row i
    if layers:                   # every local point's ball, once: the rows are among them
        dist, idx = nb.tree.query(nb.points, m_row + 1)
        rows_u = grown_rows(idx, rows_u, layers)
        dist, idx = dist[rows_u], idx[rows_u]
        queried = rows_u
    else:
        # rows whose ball provably stays inside the box cannot raise the need: only the
        # others are queried; the 2k nearest of a skipped row are inside the box too
        inside = rows_inside(nb, rows_u, m_row, lo, hi)
        queried = rows_u[~inside]
        dist, idx = nb.tree.query(nb.points[queried], m_row + 1)
        if inside.any():
            member[boxed(nb.points, lo, hi)] = True
    need = box_excess(nb.points[queried], dist[:, -1], lo, hi).max(initial=0.0)
    # dependency closure: j in 2k-NN(i), l in k-NN(j)
    member[idx[:, 1:m_dep + 1].ravel()] = True
    closure = member.copy()
    closure[nb.indices[member].ravel()] = True
    closure[rows_u] = False
    dep = np.flatnonzero(closure)
    if len(dep):
        d2, _ = nb.tree.query(nb.points[dep], m_dep + 1)
        need = max(need, box_excess(nb.points[dep], d2[:, -1], lo, hi).max(initial=0.0))
    return float(need), total, len(owned_u)


#: cell side of :func:`rows_inside`, in units of the estimated distance to the m-th
#: neighbour. A block short of m + 1 points only means its rows are queried; rows of a
#: 2.5e5-point part of a sphere certified (no query): 0 % at 0.5, 15 % at 0.7, 84 % at
#: 1.0, 81 % at 1.4 (deeper rows needed)
CELL_FACTOR = 1.0


def rows_inside(nb, rows, m, lo, hi):
    """Which ``rows`` certainly have their ``m`` nearest (and themselves) inside the box.

    A cheap certificate instead of the query: the points are binned into cubes of side
    ``s``; if the 3×3×3 block of cubes around a row's cube holds at least ``m + 1``
    points, every one of them is within ``2√3 s`` of the row, so the row's ball to its
    m-th neighbour has at most that radius, and it lies inside the box when the row is
    at least that deep. A row that fails either test is simply queried.

    Returns
    -------
    ndarray of shape (len(rows),), bool
    """
    pts = nb.points
    q = pts[rows]
    with np.errstate(invalid="ignore"):
        depth = np.minimum((q - lo).min(axis=1), (hi - q).min(axis=1))
    if nb.mean_sq is not None and len(nb.mean_sq):
        rho = float(np.sqrt(np.median(nb.mean_sq) * (m + 1) / nb.k))
    else:
        rho = float(nb.spacing) * np.sqrt(m + 1)
    s = CELL_FACTOR * rho
    bound = 2.0 * np.sqrt(3.0) * s
    out = np.zeros(len(rows), dtype=bool)
    deep = np.flatnonzero(depth >= bound)
    if not (s > 0 and np.isfinite(s)) or not len(deep):
        return out
    cell = np.floor((pts - pts.min(axis=0)) / s).astype(np.int64) + 1
    dims = cell.max(axis=0) + 2
    if float(np.prod(dims.astype(np.float64))) > 2.0 ** 62:
        return out
    key = (cell[:, 0] * dims[1] + cell[:, 1]) * dims[2] + cell[:, 2]
    keys, counts = np.unique(key, return_counts=True)
    c = cell[rows[deep]]
    total = np.zeros(len(deep), dtype=np.int64)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            for dz in (-1, 0, 1):
                kk = ((c[:, 0] + dx) * dims[1] + c[:, 1] + dy) * dims[2] + c[:, 2] + dz
                at = np.minimum(np.searchsorted(keys, kk), len(keys) - 1)
                total += np.where(keys[at] == kk, counts[at], 0)
    out[deep] = total >= m + 1
    return out


def grown_rows(neighbours, rows, layers):
    """``rows`` grown ``layers`` times by their neighbours and by the points that count
    one of them among their neighbours.

    Parameters
    ----------
    neighbours : ndarray of shape (m, c), int
        Each local point's nearest (self included or not: either works).
    rows : ndarray of int
    layers : int

    Returns
    -------
    ndarray of int, sorted
    """
    member = np.zeros(len(neighbours), dtype=bool)
    member[rows] = True
    for _ in range(layers):
        forward = neighbours[member].ravel()
        member |= member[neighbours].any(axis=1)      # points that look at the set
        member[forward] = True
    return np.flatnonzero(member)


# -- the part's sampling and operators -------------------------------------------------------

def part_sampling(xyz, *, k, tol, height_order, normals, orient, centre, n_threads=1):
    """The :class:`~o3d_meshless.Sampling` that ``sampling.build`` makes, for a part.

    The same steps as ``build`` for arrays of points (no mesh), with the whole cloud's
    coincidence tolerance ``tol`` and, for ``orient="outward"``, its ``centre``;
    ``normals`` is None (estimate) or an ``(m, 3)`` array (NaN rows estimated).
    """
    nb = knn(xyz, k, n_threads=n_threads, tol=tol)
    given = None if normals is None else np.asarray(normals, dtype=np.float64)
    frames, status, refined = oriented_frames(nb, given, height_order=height_order,
                                              orient=orient, n_threads=n_threads,
                                              centre=centre)
    boundary, conormals = detect_boundary(nb, frames, known=None, n_threads=n_threads)
    # outliers and noise are not looked for part by part (a part's decision near its
    # halo's edge would differ from the whole cloud's): the caller cleans the cloud first
    options = {"k": k, "normals": "estimate" if normals is None else "array",
               "height_order": height_order, "orient": orient, "outliers": "keep",
               "denoise": False,
               "normals_array": None if normals is None else np.array(normals)}
    s = Sampling(xyz, nb, frames, boundary, conormals, False, options)
    s.diagnostics = sampling_diagnostics(s, status, refined)
    return s


def operator_options(s, options):
    """Keyword options for an operator fitted on the part's Sampling ``s``."""
    opts = dict(options)
    opts.update(k=s.options["k"], height_order=s.options["height_order"],
                orient=s.options["orient"], workers=opts.get("workers", 1), progress=False,
                outliers="keep", denoise=False,
                normals=s.options["normals_array"] if s.options["normals"] == "array"
                else "estimate")
    return opts


def neighbour_ids(s, ids, owned, m):
    """Global ids of the ``m`` nearest unique neighbours of the owned points (a unique
    point is named by its first member's id), ``(n_owned, m)``."""
    nb = s.neighborhoods
    first = nb.first_members()
    rows = np.flatnonzero(owned)
    u = rows if nb.inverse is None else nb.inverse[rows]
    _, idx = nb.tree.query(nb.points[u], m + 1)
    idx = _drop_self(np.asarray(idx, dtype=np.intp), u)
    return ids[first[idx]]
