"""Spatial partition: k-d split of a sample into boxes, leaf lookup, halo extraction."""
from __future__ import annotations

import numpy as np

#: sample at least this many points (or all of them) for the k-d split
SAMPLE_POINTS = 200_000
#: and at least this many per part
SAMPLE_PER_PART = 256


def block_stats(block, lo, stride):
    """Bounding box, finiteness and the rows whose global id is a multiple of ``stride``."""
    if len(block) == 0:
        return np.full(3, np.inf), np.full(3, -np.inf), True, np.zeros((0, 3))
    finite = bool(np.isfinite(block).all())
    start = (-lo) % stride
    sample = np.array(block[start::stride], dtype=np.float64)
    return block.min(axis=0), block.max(axis=0), finite, sample


def kd_split(sample, n_parts):
    """Balanced k-d split of ``sample`` into ``n_parts`` boxes.

    A node holding ``m`` parts splits its sample along the axis of largest extent at the
    ``⌊m/2⌋/m`` quantile (deterministic: a sorted sample, a fixed index). A point goes
    left when its coordinate is below the split value. The outer faces are infinite.

    Returns
    -------
    nodes : ndarray of shape (n_nodes, 4)
        ``(axis, value, left, right)``; a child ``c < 0`` is the leaf ``-c - 1``.
    boxes : ndarray of shape (n_parts, 2, 3)
        ``[lo, hi]`` of each part.
    """
    nodes = []
    boxes = [None] * n_parts

    def rec(pts, lo, hi, m, first):
        if m == 1:
            boxes[first] = np.stack([lo, hi])
            return -(first + 1)
        ml = m // 2
        if len(pts) >= 2:
            ext = pts.max(axis=0) - pts.min(axis=0)
            axis = int(np.argmax(ext))
            vals = np.sort(pts[:, axis])
            value = float(vals[min(len(vals) - 1, (len(vals) * ml) // m)])
        else:              # no sample here: halve the box (finite faces only)
            span = np.where(np.isfinite(hi - lo), hi - lo, -1.0)
            axis = int(np.argmax(span))
            value = float(0.5 * (lo[axis] + hi[axis])) if span[axis] > 0 else \
                float(pts[0, axis] if len(pts) else 0.0)
        me = len(nodes)
        nodes.append([axis, value, 0, 0])
        left = pts[:, axis] < value
        lhi = hi.copy()
        lhi[axis] = value
        rlo = lo.copy()
        rlo[axis] = value
        nodes[me][2] = rec(pts[left], lo, lhi, ml, first)
        nodes[me][3] = rec(pts[~left], rlo, hi, m - ml, first + ml)
        return me

    rec(np.asarray(sample, dtype=np.float64), np.full(3, -np.inf), np.full(3, np.inf),
        n_parts, 0)
    return np.array(nodes, dtype=np.float64).reshape(-1, 4), np.stack(boxes)


def leaf_of(xyz, nodes):
    """The part owning each point, ``(m,)`` int."""
    m = len(xyz)
    out = np.zeros(m, dtype=np.intp)
    if len(nodes) == 0 or m == 0:
        return out
    axis = nodes[:, 0].astype(np.intp)
    value = nodes[:, 1]
    left = nodes[:, 2].astype(np.intp)
    right = nodes[:, 3].astype(np.intp)
    node = np.zeros(m, dtype=np.intp)
    active = np.arange(m)
    while len(active):
        nd = node[active]
        go_left = xyz[active, axis[nd]] < value[nd]
        nxt = np.where(go_left, left[nd], right[nd])
        leaf = nxt < 0
        out[active[leaf]] = -nxt[leaf] - 1
        node[active] = nxt
        active = active[~leaf]
    return out


def concat(pieces):
    """Concatenate the pieces of one part from every block (ids stay sorted)."""
    ids = np.concatenate([p[0] for p in pieces])
    xyz = np.concatenate([p[1] for p in pieces]).reshape(-1, 3)
    owned = np.concatenate([p[2] for p in pieces])
    extra = None if pieces[0][3] is None else np.concatenate([p[3] for p in pieces])
    return ids, np.ascontiguousarray(xyz), owned, extra


def boxed(points, lo, hi):
    """Which ``points`` lie in the closed box ``[lo, hi]``, ``(m,)`` bool.

    One axis at a time, the axes with two finite faces first, each later axis tested only
    on the rows still inside: a part reading an unordered file tests every row of it,
    and this is 2.3× faster there than comparing all three coordinates of every row.
    """
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    faces = np.isfinite(lo).astype(int) + np.isfinite(hi)
    rows = None
    for a in np.argsort(-faces, kind="stable"):
        if not faces[a]:
            continue                                  # an axis open both ways holds all
        c = points[:, a] if rows is None else points[rows, a]
        keep = (c >= lo[a]) & (c <= hi[a])
        rows = np.flatnonzero(keep) if rows is None else rows[keep]
    inside = np.zeros(len(points), dtype=bool)
    inside[slice(None) if rows is None else rows] = True
    return inside


def boxes_meeting(boxes, lo, hi):
    """Which closed ``boxes`` ``(m, 2, 3)`` meet the closed box ``[lo, hi]``, ``(m,)``
    bool (infinite faces allowed)."""
    with np.errstate(invalid="ignore"):
        return ((boxes[:, 1] >= lo) & (boxes[:, 0] <= hi)).all(axis=1)


def block_edges(ids, bounds):
    """Where the sorted global ``ids`` cross the block starts of ``bounds`` (and the last
    block's end): block ``b`` holds ``ids[edges[b]:edges[b + 1]]``."""
    return np.searchsorted(ids, [lo for lo, _ in bounds] + [bounds[-1][1]])


def split_rows(ids, values, bounds):
    """``(ids, values)`` rows of one part cut by the output blocks ``bounds``."""
    edges = block_edges(ids, bounds)
    return [(ids[a:b], values[a:b]) for a, b in zip(edges[:-1], edges[1:])]


def merge(lo, hi, tail, dtype, *pieces):
    """One output block from the pieces every part holds of it."""
    out = np.zeros((hi - lo,) + tuple(tail), dtype=dtype)
    seen = np.zeros(hi - lo, dtype=bool)
    for ids, vals in pieces:
        out[ids - lo] = vals
        seen[ids - lo] = True
    if not seen.all():                    # every point has exactly one owner
        raise RuntimeError(f"rows {lo}..{hi}: {int((~seen).sum())} rows have no owner")
    return out


def split_ids(ids, bounds):
    """Sorted global ``ids`` cut by the input blocks ``bounds``."""
    edges = block_edges(ids, bounds)
    return [ids[a:b] for a, b in zip(edges[:-1], edges[1:])]


def take(block, lo, ids):
    """Rows ``ids`` (global, inside this block) of ``block``."""
    return np.asarray(block)[np.asarray(ids) - lo]
