"""Drawing a panel: opaque splats sorted back to front, hidden points dropped by depth,
shaded by the normals, with optional arrows."""
from __future__ import annotations

import math

import numpy as np


from .upright import _pca_normals, _subsample
from .view import _camera

__all__ = ["_Scene"]


def _front_layer(x, y, z, cell, tol):
    """Points within ``tol`` of the nearest depth ``z`` (larger = nearer) in their
    screen cell of size ``cell``: the front layer, where nothing is in front."""
    cell = max(cell, max(float(np.ptp(x)), float(np.ptp(y)), 1e-300) / 1e6)
    ix = np.floor((x - x.min()) / cell).astype(np.int64)
    iy = np.floor((y - y.min()) / cell).astype(np.int64)
    key = ix * (int(iy.max()) + 1) + iy
    _, inv = np.unique(key, return_inverse=True)
    zmax = np.full(inv.max() + 1, -np.inf)
    np.maximum.at(zmax, inv, z)
    return z >= zmax[inv] - tol, inv


def _behind_front(x, y, z, facing, cell, slack):
    """Points more than a slope-dependent depth below the nearest point within one
    screen cell around them (cells of size ``cell``; ``facing`` = |cos| of the angle
    between normal and view)."""
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-300)
    cell = max(cell, span / 1e6)                                # keep cell indices small
    ix = np.floor((x - x.min()) / cell).astype(np.int64) + 1
    iy = np.floor((y - y.min()) / cell).astype(np.int64) + 1
    width = int(iy.max()) + 2
    key = ix * width + iy
    cells, inv = np.unique(key, return_inverse=True)
    zmax = np.full(len(cells), -np.inf)
    np.maximum.at(zmax, inv, z)
    front = zmax[inv]
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx == 0 and dy == 0:
                continue
            nkey = key + dx * width + dy
            pos = np.minimum(np.searchsorted(cells, nkey), len(cells) - 1)
            found = cells[pos] == nkey
            front = np.where(found, np.maximum(front, zmax[pos]), front)
    slope = np.sqrt(np.maximum(1.0 - facing ** 2, 0.0)) / np.maximum(facing, 0.15)
    return z < front - (slack + 2.0 * cell * slope)


def _covered(x, y, z, hidden, r, tol):
    """Of the ``hidden`` points, those a kept point nearer by ``tol`` covers on the
    screen (within ``r``), or that lie in a hole of the nearer surface (nearer kept
    points all round within ``3 r``): the others, beside a silhouette, stay (no white slit
    behind a hill or an arm)."""
    from scipy.spatial import cKDTree

    keep = np.flatnonzero(~hidden)
    out = hidden.copy()
    if len(keep) == 0 or not hidden.any():
        return out
    h = np.flatnonzero(hidden)
    k = int(min(8, len(keep)))
    d, j = cKDTree(np.column_stack([x[keep], y[keep]])).query(
        np.column_stack([x[h], y[h]]), k=k, distance_upper_bound=r)
    d, j = d.reshape(len(h), k), j.reshape(len(h), k)
    found = np.isfinite(d)
    front = np.where(found, z[keep[np.minimum(j, len(keep) - 1)]], -np.inf)
    out[h] = (front > z[h][:, None] + tol).any(axis=1)
    free = h[~out[h]]
    if len(free):                      # in a hole (kept points all round): stays hidden
        tree = cKDTree(np.column_stack([x[keep], y[keep]]))
        for i, near in zip(free, tree.query_ball_point(np.column_stack([x[free], y[free]]),
                                                       3.0 * r)):
            near = [j for j in near if z[keep[j]] > z[i] + tol]     # nearer points
            if near:
                off = np.column_stack([x[keep[near]] - x[i], y[keep[near]] - y[i]])
                off /= np.maximum(np.linalg.norm(off, axis=1, keepdims=True), 1e-300)
                out[i] = np.linalg.norm(off.mean(axis=0)) < 0.5
    return out


class _Scene:
    """Projection, visible points, splat sizes and shading shared by all panels."""

    def __init__(self, pts, nrm, up, view, point_size, max_points):
        from scipy.spatial import cKDTree

        self.pts, n = pts, len(pts)
        self.right, self.upward, self.toward = _camera(view, up)
        self.x, self.y, self.z = pts @ self.right, pts @ self.upward, pts @ self.toward
        self.tree = cKDTree(pts)
        k = int(min(10, n))
        probe = _subsample(n, 2000)
        if k >= 2:                       # spacing: sqrt of the surface area per point
            dist, _ = self.tree.query(pts[probe], k=k)
            near = dist[:, -1] * math.sqrt(math.pi / (k - 1))
            near = near[near > 0]
        else:
            near = np.empty(0)
        ext = float(np.max(np.ptp(pts, axis=0))) if n > 1 else 1.0
        self.spacing = float(np.median(near)) if near.size else max(ext, 1.0) / math.sqrt(n)
        # 1. front layer, coarse: drop points with something well in front of them
        keep, _ = _front_layer(self.x, self.y, self.z, 2.0 * self.spacing, 4.0 * self.spacing)
        idx = np.flatnonzero(keep)
        grow = 1.0
        if len(idx) > max_points:
            grow = math.sqrt(len(idx) / max_points)
            idx = idx[_subsample(len(idx), int(max_points), seed=1)]
        # 2. splats: the tangent disc of each point (axes from its neighbours' spread)
        # seen in projection, so sparse directions are covered and silhouettes stay thin
        m = len(idx)
        if k >= 3:
            _, nb = self.tree.query(pts[idx], k=k)
            centre = pts[nb].mean(axis=1)
            off = pts[nb] - centre[:, None, :]
            lam, vec = np.linalg.eigh(np.einsum("mki,mkj->mij", off, off) / (k - 1))
            sd = np.sqrt(np.maximum(lam[:, 1:], 0.0))              # (minor, major)
            major = np.clip(sd[:, 1], 0.3 * self.spacing, 3.0 * self.spacing)
            # at the border of an open surface the neighbours lie to one side
            border = np.linalg.norm(centre - pts[idx], axis=1) > 0.6 * major
            minor = np.clip(sd[:, 0], 0.3 * major, None)
            t1, t2, nd = vec[:, :, 2], vec[:, :, 1], vec[:, :, 0]
        else:
            major = minor = np.full(m, 0.8 * self.spacing)
            border = np.zeros(m, dtype=bool)
            t1 = np.tile(self.right, (m, 1))
            t2 = np.tile(self.upward, (m, 1))
            nd = None
        if nrm is not None:
            nd = nrm[idx]
        # 3. front layer, fine: a point facing the camera but behind a nearer surface
        # within a splat or two is seen through a gap; drop it (grazing points keep more
        # depth slack, as a slanted surface recedes quickly)
        if nd is not None and m > 0:
            facing = np.abs(nd @ self.toward) / np.maximum(np.linalg.norm(nd, axis=1), 1e-300)
            hidden = _behind_front(self.x[idx], self.y[idx], self.z[idx], facing,
                                   2.0 * grow * self.spacing, 2.0 * grow * self.spacing)
            hidden &= _covered(self.x[idx], self.y[idx], self.z[idx], hidden,
                               1.2 * grow * self.spacing, 2.0 * grow * self.spacing)
            sel = ~hidden
            idx, major, minor, t1, t2, nd, border = (
                a[sel] for a in (idx, major, minor, t1, t2, nd, border))
        order = np.argsort(self.z[idx], kind="stable")                  # back to front
        idx, major, minor, t1, t2, border = (
            a[order] for a in (idx, major, minor, t1, t2, border))
        nd = None if nd is None else nd[order]
        self.idx = idx
        scale = 1.25 if point_size is None else float(point_size)
        self._axes = (grow * major, grow * minor, t1, t2)
        self.widths, self.heights, self.angles = self.ellipses(scale)
        # backing layer of larger splats under the surface closes the gaps of random
        # sampling; not at the outline or the border, which it would blur
        fw, fh, fa = self.ellipses(2.0 * scale)
        inner = ~border
        if nd is not None:
            inner &= np.abs(nd @ self.toward) >= 0.2 * np.linalg.norm(nd, axis=1)
        self.fill_index = np.flatnonzero(inner)
        self.fill = (fw[inner], fh[inner], fa[inner])
        self.diam = fw
        # shading by the normals (any sign)
        if nd is None:
            self.shade = np.ones(len(idx))
        else:
            light = self.toward + 0.5 * self.upward - 0.3 * self.right
            light /= np.linalg.norm(light)
            cosine = np.abs(nd @ light) / np.maximum(np.linalg.norm(nd, axis=1), 1e-300)
            self.shade = 0.5 + 0.5 * cosine
        pad = 0.6 * float(self.diam.max()) if len(self.diam) else 0.0
        self.xlim = (float(self.x.min()) - pad, float(self.x.max()) + pad)
        self.ylim = (float(self.y.min()) - pad, float(self.y.max()) + pad)
        if self.xlim[1] - self.xlim[0] <= 0:
            self.xlim = (self.xlim[0] - 1.0, self.xlim[1] + 1.0)
        if self.ylim[1] - self.ylim[0] <= 0:
            self.ylim = (self.ylim[0] - 1.0, self.ylim[1] + 1.0)
        self._anchors = None
        self._nrm = nrm

    def ellipses(self, scale):
        """Screen ellipses (widths, heights, angles in degrees) of the tangent discs."""
        major, minor, t1, t2 = self._axes
        a1, a2 = scale * major, scale * minor
        M = np.empty((len(a1), 2, 2))
        M[:, 0, 0], M[:, 0, 1] = a1 * (t1 @ self.right), a2 * (t2 @ self.right)
        M[:, 1, 0], M[:, 1, 1] = a1 * (t1 @ self.upward), a2 * (t2 @ self.upward)
        if len(a1) == 0:
            return np.empty(0), np.empty(0), np.empty(0)
        U, sv, _ = np.linalg.svd(M)
        sv[:, 1] = np.maximum(sv[:, 1], 0.4 * sv[:, 0])           # edge-on: keep a sliver
        return 2.0 * sv[:, 0], 2.0 * sv[:, 1], np.degrees(np.arctan2(U[:, 1, 0], U[:, 0, 0]))

    def anchors(self, per_side=16):
        """Arrow anchors: in each cell of a coarse screen grid, the front-layer point
        nearest the cell centre; returned with the normal turned towards the camera."""
        if self._anchors is None:
            g = max(self.xlim[1] - self.xlim[0], self.ylim[1] - self.ylim[0]) / per_side
            front, inv = _front_layer(self.x, self.y, self.z, g,
                                      max(2.0 * self.spacing, 0.25 * g))
            cx = (np.floor((self.x - self.x.min()) / g) + 0.5) * g + self.x.min()
            cy = (np.floor((self.y - self.y.min()) / g) + 0.5) * g + self.y.min()
            d2 = (self.x - cx) ** 2 + (self.y - cy) ** 2
            cand = np.flatnonzero(front)
            order = cand[np.lexsort((d2[cand], inv[cand]))]
            first = np.r_[True, inv[order][1:] != inv[order][:-1]]
            a = order[first]
            if self._nrm is not None:
                nrm = self._nrm[a]
            else:
                nrm = _pca_normals(self.pts, a, self.tree)
            nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-300)
            facing = nrm @ self.toward
            nrm *= np.where(facing < 0, -1.0, 1.0)[:, None]
            seen = np.abs(facing) >= 0.3                      # not at the outline
            self._anchors = (a[seen], nrm[seen], g)
        return self._anchors

    def draw_arrows(self, ax, vec):
        """Arrows in the screen plane: each vector's projection, so a vector tilted
        towards or away from the viewer is drawn foreshortened (honestly shorter), with
        its full head. A vector within 30° of the line of sight (its projection under
        half its length) has no readable arrow: it is drawn as the physics symbol, a
        circled dot (towards the viewer) or a circled cross (away), in black on white."""
        a, nrm, g = self.anchors()
        v = vec[a]
        length = np.linalg.norm(v, axis=1)
        ref = float(np.percentile(length, 90)) if len(length) else 0.0
        if ref <= 0.0:
            return None
        base = self.pts[a] + 0.5 * self.spacing * nrm          # lifted off the surface
        scale = 0.9 * g / ref
        full = np.minimum(length * scale, 1.5 * g)              # outliers: capped
        cap = full / np.maximum(length * scale, 1e-300)
        u = (v @ self.right) * scale * cap
        w = (v @ self.upward) * scale * cap
        screen = np.hypot(u, w)
        end_on = (screen < 0.5 * full) & (full > 0.3 * g)
        ok = ~end_on & (screen > 0.15 * g)
        q = ax.quiver(base[ok] @ self.right, base[ok] @ self.upward, u[ok], w[ok],
                      angles="xy", scale_units="xy", scale=1.0, pivot="tail",
                      color="black", edgecolor="white", linewidth=0.4, width=0.006,
                      headwidth=3.2, headlength=3.4, headaxislength=3.0, minshaft=2.0,
                      zorder=3)
        q.set_label("arrows")
        if end_on.any():
            towards = (v[end_on] @ self.toward) > 0
            x, y = base[end_on] @ self.right, base[end_on] @ self.upward
            ax.scatter(x, y, s=30, marker="o", facecolors="white", edgecolors="black",
                       linewidths=0.9, zorder=3, label="arrows end-on")
            for sel, mark, size in ((towards, ".", 10), (~towards, "x", 12)):
                if sel.any():
                    ax.scatter(x[sel], y[sel], s=size, marker=mark, c="black",
                               linewidths=0.9, zorder=4, label="_end-on sign")
        return q

    def draw_markers(self, ax, index):
        """Mark the points ``index`` (e.g. geodesic sources) above the splats: a filled
        star where the point is seen, a hollow one where the surface hides it."""
        from scipy.spatial import cKDTree

        p = self.pts[np.asarray(index, dtype=np.int64)]
        x, y, z = p @ self.right, p @ self.upward, p @ self.toward
        seen = np.ones(len(p), dtype=bool)
        if len(self.idx):
            front = cKDTree(np.column_stack([self.x[self.idx], self.y[self.idx]]))
            for i, near in enumerate(front.query_ball_point(np.column_stack([x, y]),
                                                            2.0 * self.spacing)):
                if near:
                    seen[i] = z[i] >= self.z[self.idx[near]].max() - 3.0 * self.spacing
        size = 13.0
        for mask, face, label in ((seen, "red", "markers"), (~seen, "none", "markers hidden")):
            if mask.any():
                ax.plot(x[mask], y[mask], linestyle="none", marker="*", markersize=size,
                        markerfacecolor=face, markeredgecolor="red" if face == "none"
                        else "white", markeredgewidth=1.2, zorder=5, label=label,
                        clip_on=False)           # a source on the outline stays whole

