"""The tasks the Dask graph runs on each part."""
from __future__ import annotations


import numpy as np
from scipy import sparse

from ._local import (halo_round, neighbour_ids, operator_options, part_sampling,
                     partition_round)
from ._partition import boxed, concat, leaf_of, split_ids, split_rows
from ._source import read_npy_rows

#: a measured halo need is grown by this factor (and the radius rounds repeat until the
#: need of every part is within its radius)
HALO_MARGIN = 1.05


def _available_bytes():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 2**30


# -- task functions (module level: picklable) ----------------------------------------------

def _extract_parts(block, lo, nodes, boxes, radii, leafmap, extra):
    # `boxes`/`radii` are those of the parts in `leafmap`; ownership uses the full tree
    ids = np.arange(lo, lo + len(block), dtype=np.int64)
    leaf = leaf_of(block, nodes)
    out = []
    for i, p in enumerate(leafmap):
        elo = boxes[i, 0] - radii[i]
        ehi = boxes[i, 1] + radii[i]
        inside = boxed(block, elo, ehi) | (leaf == p)
        out.append((ids[inside], block[inside], leaf[inside] == p,
                    None if extra is None else extra[inside]))
    return out


def _read_part(path, bounds, nodes, box, radius, part, normals_path):
    """One part's rows read straight from the ``.npy`` file(s), block by block
    (``bounds``: the blocks that can hold them).

    The same ``(ids, xyz, owned, normals)`` as :func:`_extract_parts` followed by
    :func:`~o3d_meshless.dask._partition.concat` give it, but no block's pieces for the
    other parts are ever in flight: a worker holds one block and its own part, whatever
    the size of the cloud (the exchange through the task graph kept every part's pieces
    until the last part had started, so a worker's memory grew with the cloud).
    """
    arr = np.load(path, mmap_mode="r")
    nrm = None if normals_path is None else np.load(normals_path, mmap_mode="r")
    elo, ehi = box[0] - radius, box[1] + radius
    pieces = []
    for lo, hi in bounds:
        block = np.asarray(arr[lo:hi], dtype=np.float64)
        # a part's box holds all of its owned points (a leaf of the k-d split is its
        # box), so the halo test alone selects them
        inside = np.flatnonzero(boxed(block, elo, ehi))
        xyz = block[inside]
        pieces.append((inside + lo, xyz, leaf_of(xyz, nodes) == part,
                       None if nrm is None else np.asarray(nrm[lo:hi][inside],
                                                           dtype=np.float64)))
    if not pieces:                        # no block meets the part (a part is never empty)
        return (np.zeros(0, dtype=np.int64), np.zeros((0, 3)), np.zeros(0, dtype=bool),
                None if nrm is None else np.zeros((0, 3)))
    return concat(pieces)


def _partition_part(gathered, box, k, tol, below):
    """:func:`~o3d_meshless.dask._local.partition_round` with the counts of
    :func:`_halo_part`: ``((need, total, count, n_owned, n_local, close, unsure),
    scale_values)``."""
    ids, xyz, owned, _ = gathered
    (need, total, count, close, unsure), values = partition_round(ids, xyz, owned, box, k,
                                                                  tol, below)
    return (need, total, count, int(owned.sum()), _kept(xyz, owned, box, need), close,
            unsure), values


def _kept(xyz, owned, box, need):
    """Points within the final radius (``need`` certified): what the part will build."""
    r = max(need, 0.0) * HALO_MARGIN
    with np.errstate(invalid="ignore"):
        kept = boxed(xyz, box[0] - r, box[1] + r) | owned
    return int(kept.sum())


def _summary(values, m):
    n = len(values)
    if n == 0:
        return 0, np.zeros(0)
    pos = np.unique(np.linspace(0, n - 1, min(m, n)).round().astype(np.int64))
    return n, values[pos]


def _band(values, a, b):
    lo = np.searchsorted(values, a, side="left")
    hi = np.searchsorted(values, b, side="right")
    return int(lo), values[lo:hi]


def _halo_part(gathered, box, k, tol, layers=0):
    ids, xyz, owned, _ = gathered
    need, total, count = halo_round(ids, xyz, owned, box, k, tol, layers)
    return need, total, count, int(owned.sum()), _kept(xyz, owned, box, need)


def _sampling_part(gathered, *, k, tol, height_order, orient, centre):
    ids, xyz, owned, normals = gathered
    s = part_sampling(xyz, k=k, tol=tol, height_order=height_order, normals=normals,
                             orient=orient, centre=centre)
    return {"ids": ids, "owned": owned, "sampling": s}


def _restrict(A, owned, blocks=1):
    """Owned rows of a (blocks·m, m) operator, columns compressed to those used."""
    m = len(owned)
    rows = np.flatnonzero(owned)
    rows = np.concatenate([rows + b * m for b in range(blocks)])
    A = A.tocsr()[rows]
    used = np.unique(A.indices)
    remap = np.full(m, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    A = sparse.csr_matrix((A.data, remap[A.indices], A.indptr), shape=(A.shape[0], len(used)))
    return A, used


def _laplacian_part(part, options):
    from ..operators.laplacian import LaplaceBeltrami

    s, ids, owned = part["sampling"], part["ids"], part["owned"]
    op = LaplaceBeltrami(**operator_options(s, options)).fit(s)
    L, used = _restrict(op.L_, owned)
    return {"owned_ids": ids[owned], "used_ids": ids[used], "A": L,
            "mass": op.M_.diagonal()[owned], "blocks": 1}


#: halo layers the weak form's rows need beyond the strong form's (see
#: :func:`o3d_meshless.dask._local.halo_round`), per mass matrix
WEAK_LAYERS = {"lumped": 1, "averaged": 2}


def _stiffness_part(part, mass):
    """Owned rows of the weak form's stiffness ``K`` and mass (``mass_``) on a part."""
    from ..operators.laplacian import LaplaceBeltrami

    s, ids, owned = part["sampling"], part["ids"], part["owned"]
    opts = operator_options(s, {})
    op = LaplaceBeltrami(form="weak", mass=mass, **opts).fit(s)
    K, used_k = _restrict(op.K_, owned)
    B, used_b = _restrict(op.mass_, owned)
    return {"owned_ids": ids[owned], "K": K, "K_ids": ids[used_k], "B": B,
            "B_ids": ids[used_b], "areas": op.M_.diagonal()[owned]}


def _gradient_part(part, options):
    from ..operators.gradient_divergence import SurfaceGradient

    s, ids, owned = part["sampling"], part["ids"], part["owned"]
    op = SurfaceGradient(**operator_options(s, options)).fit(s)
    G, used = _restrict(op.G_, owned, blocks=3)
    return {"owned_ids": ids[owned], "used_ids": ids[used], "A": G, "blocks": 3}


def _used_split(op, bounds):
    return split_ids(op["used_ids"], bounds)


def _apply_from_file(op, path):
    """:func:`_apply_part` with the values at the columns ``op`` uses read from the
    ``.npy`` file ``path``."""
    return _apply_part(op, read_npy_rows(path, op["used_ids"]))


def _built_and_applied(build, part, options, path):
    """``build(part, options)`` (the part's operator rows) applied at once to the
    values in the ``.npy`` file ``path``; the rows are dropped when the task ends."""
    return _apply_from_file(build(part, options), path)


def _apply_part(op, *picks):
    f = np.concatenate(picks, axis=0)
    y = op["A"] @ f
    if op["blocks"] > 1:                  # stacked x, y, z blocks → (m, 3)
        m = len(op["owned_ids"])
        y = np.ascontiguousarray(y.reshape(op["blocks"], m).T)
    return op["owned_ids"], y


def _split_result(result, bounds):
    ids, values = result
    return split_rows(ids, values, bounds)


def _frames_part(part):
    s = part["sampling"]
    return part["ids"][part["owned"]], s.expand(s.frames)[part["owned"]]


def _normals_part(part):
    ids, frames = _frames_part(part)
    return ids, np.ascontiguousarray(frames[:, 2])


def _boundary_part(part):
    s = part["sampling"]
    return part["ids"][part["owned"]], s.expand(s.boundary)[part["owned"]]


def _neighbors_part(part, m):
    return (part["ids"][part["owned"]],
            neighbour_ids(part["sampling"], part["ids"], part["owned"], m))


def _mass_part(op):
    return op["owned_ids"], op["mass"]


def _curvature_part(part, order, weights):
    from ..toolkit.surface_curvature import curvature

    # the fixed scale: scale="auto" may reach k_max neighbours, beyond the part's halo
    c = curvature(part["sampling"], order=order, weights=weights, scale="fixed")
    owned = part["owned"]
    return part["ids"][owned], np.stack([c.mean, c.gaussian, c.k1, c.k2], axis=1)[owned]


def _column(result, i):
    return result[0], np.ascontiguousarray(result[1][:, i])


def _global_block(op, n, which="A"):
    """A part's rows ``op[which]`` (columns compressed to ``op[which + "_ids"]``, or
    ``op["used_ids"]`` for the strong operators' ``"A"``) with global columns."""
    A = op[which]
    cols = op["used_ids" if which == "A" else which + "_ids"][A.indices]
    return op["owned_ids"], sparse.csr_matrix((A.data, cols, A.indptr), shape=(A.shape[0], n))


def _weak_rows(op, n):
    return op["owned_ids"], _global_block(op, n, "K")[1], _global_block(op, n, "B")[1]


def _assembled(block_lists, n, max_bytes, what, instead):
    """Each list of Delayed ``(row_ids, csr_rows)`` → one (n, n) CSR in input order,
    after checking the size against ``max_bytes`` on the first block of each."""
    import dask

    firsts = dask.compute(*[blocks[0] for blocks in block_lists])
    est = sum((f[1].nnz / max(len(f[0]), 1)) * n * 12 + 8 * n for f in firsts)
    if max_bytes is None:
        max_bytes = 0.5 * _available_bytes()
    if est > max_bytes:
        raise MemoryError(f"{what} would take about {est / 2**30:.1f} GiB (> max_bytes = "
                          f"{max_bytes / 2**30:.1f} GiB): use {instead} instead")
    out = []
    for first, blocks in zip(firsts, block_lists):
        got = [first] + list(dask.compute(*blocks[1:]))
        rows = np.concatenate([g[0] for g in got])
        A = sparse.vstack([g[1] for g in got], format="csr")
        inv = np.empty(n, dtype=np.int64)
        inv[rows] = np.arange(n)
        out.append(A[inv])
    return out
