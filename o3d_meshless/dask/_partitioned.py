"""The partitioned cloud behind :class:`~o3d_meshless.dask.DaskSurface`: the k-d split,
the exact distributed coincidence scale, the halo rounds, and mapping per-part results
back to the input order."""
from __future__ import annotations

import math

import numpy as np

from ..sampling.neighbors import COINCIDENT_RTOL
from ._local import DEP_FACTOR, ROW_FACTOR, scale_column
from ._partition import (SAMPLE_PER_PART, SAMPLE_POINTS, block_stats, boxes_meeting, concat,
                         kd_split, leaf_of, merge, take)
from ._source import ROW_PIECES, RowPieces, as_source
from ._tasks import (HALO_MARGIN, WEAK_LAYERS, _apply_from_file, _apply_part, _band,
                     _built_and_applied, _extract_parts, _gradient_part, _halo_part,
                     _laplacian_part, _read_part, _sampling_part, _partition_part, _split_result,
                     _stiffness_part, _summary, _used_split)

__all__ = ["PartitionedCloud", "ORIENT_OPTIONS"]

ORIENT_OPTIONS = (None, "outward")
#: per-part products :meth:`PartitionedCloud.persist` keeps on the cluster
PERSISTABLE = ("sampling", "laplacian", "gradient", "stiffness-averaged", "stiffness-lumped")
#: Dask priority of reading a part and building its sampling (the default is 0)
START_PRIORITY = -1
#: summary points per part for the exact distributed median
SUMMARY = 4096
#: the partition's provisional coincidence tolerance is checked against the cloud's own
#: from the raw neighbour distances up to this multiple of it (a cloud's tolerance
#: further off means every part's halo round runs again)
TOL_CHECK_FACTOR = 100.0


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}; got {value!r}")
    return int(value)


def provisional_tol(r0):
    """The coincidence tolerance guessed from the parts' radius guesses ``r0`` (about
    twice the distance to the 8th neighbour; see ``PartitionedCloud._radius_guess``)."""
    finite = r0[np.isfinite(r0)]
    return COINCIDENT_RTOL * 0.5 * float(np.median(finite)) if len(finite) else 0.0


class PartitionedCloud:
    """A cloud split into parts with exact halos (see :class:`DaskSurface`)."""

    def __init__(self, points, *, k=16, normals=None, orient=None, height_order=2,
                 n_parts=None, part_points=200_000, block_rows=1_000_000,
                 operator_options=None, max_rounds=6):
        import dask

        from ..sampling.sampled_surface import check_options

        self.k = _check_int(k, "k", 3)
        if orient not in ORIENT_OPTIONS:
            raise ValueError(f"`orient` must be None or 'outward' in the distributed path; "
                             f"got {orient!r} (orient='mst' propagates over the whole cloud: "
                             "pass oriented `normals` instead)")
        check_options(k=self.k, normals="estimate", height_order=height_order, orient=orient)
        self.orient, self.height_order = orient, height_order
        self.operator_options = dict(operator_options or {})
        if self.operator_options.get("form", "strong") != "strong":
            raise ValueError("`operator_options` must not set form='weak': the weak form "
                             "has its own methods (stiffness_blocks(), stiffness_matrices(), "
                             "spectrum()), whose halo is measured for it")
        for bad in ("k", "normals", "orient", "height_order", "progress"):
            if bad in self.operator_options:
                raise ValueError(f"`operator_options` must not set {bad!r}: pass it to "
                                 "DaskSurface itself")
        block_rows = _check_int(block_rows, "block_rows", 1)
        part_points = _check_int(part_points, "part_points", 1)
        self.max_rounds = _check_int(max_rounds, "max_rounds", 1)
        self._src = as_source(points, name="points", ncols=3, block_rows=block_rows)
        self.n = n = self._src.n
        if n < self.k + 1:
            raise ValueError(f"`points` must hold at least k + 1 = {self.k + 1} points; got {n}")
        self.bounds = self._src.bounds
        self._normals = None if normals is None else as_source(
            normals, name="normals", ncols=3, n=n, bounds=self.bounds)
        if n_parts is None:
            n_parts = max(1, math.ceil(n / part_points))
        self.n_parts = _check_int(n_parts, "n_parts", 1)
        if self.n_parts > max(1, n // (8 * self.k)):
            raise ValueError(f"`n_parts` = {self.n_parts} is too many for {n} points: each part "
                             f"should own at least 8·k = {8 * self.k} points (lower n_parts)")

        # pass 0: bounding box, finiteness and a strided sample
        stride = max(1, n // max(SAMPLE_POINTS,
                                 SAMPLE_PER_PART * self.n_parts))
        stats = dask.compute(*[dask.delayed(block_stats)(b, lo, stride)
                               for b, (lo, _) in zip(self._src.blocks, self.bounds)])
        if not all(s[2] for s in stats):
            raise ValueError("`points` must be finite; some rows contain NaN or inf (drop "
                             "them first, e.g. points[np.isfinite(points).all(1)])")
        sample = np.concatenate([s[3] for s in stats])
        self._sample = sample               # strided: the distributed spectrum's coarse level
        # each block's bounding box: a part reading a file skips the blocks that cannot
        # hold its points (spatially ordered inputs, such as scans, skip most of them)
        self._block_boxes = np.array([[s[0], s[1]] for s in stats], dtype=np.float64)
        self.bbox = np.stack([np.min([s[0] for s in stats], axis=0),
                              np.max([s[1] for s in stats], axis=0)])
        self.nodes, self.boxes = kd_split(sample, self.n_parts)
        self._stride = stride
        r_guess = self._radius_guess(sample, stride)
        self.stats = {"rounds": []}
        self._halo_rounds(r_guess)
        self._cache = {}
        self._persisted = set()

    # -- partition ------------------------------------------------------------------------

    def _radius_guess(self, sample, stride):
        """Radius of the 8th neighbour per part, from the sample's spacing (a guess only)."""
        from scipy.spatial import cKDTree

        if len(sample) < 2:
            return np.full(self.n_parts, np.inf)
        d = cKDTree(sample).query(sample, 2)[0][:, 1]
        leaf = leaf_of(sample, self.nodes)
        r = np.empty(self.n_parts)
        for p in range(self.n_parts):
            dp = d[leaf == p]
            r[p] = np.quantile(dp if len(dp) else d, 0.9)
        # sample spacing d ~ 0.5 sqrt(s / density): the m-th neighbour of the full cloud
        # lies at about d sqrt(4 m / (pi s))
        return 2.0 * r * math.sqrt(4 * max(scale_column(self.k), 1) / (math.pi * stride))

    def _gathered(self, radii, parts=None, with_normals=False):
        """Delayed ``(ids, xyz, owned, normals)`` of each part in ``parts``."""
        import dask

        parts = range(self.n_parts) if parts is None else parts
        parts = list(parts)
        radii = np.asarray(radii, dtype=np.float64)
        normals = self._normals if with_normals else None
        if self._src.path is not None and (normals is None or normals.path is not None):
            # files: each part reads its own rows (no exchange of pieces through the graph)
            return [dask.delayed(_read_part)(
                self._src.path, self._touching(self.boxes[p], radii[p]), self.nodes,
                self.boxes[p], radii[p], p, None if normals is None else normals.path)
                for p in parts]
        boxes = self.boxes[parts]
        nodes = self.nodes
        leafmap = np.array(parts)
        pieces = []
        for b, (lo, _) in enumerate(self.bounds):
            extra = self._normals.blocks[b] if (with_normals and self._normals) else None
            pieces.append(dask.delayed(_extract_parts, nout=len(parts))(
                self._src.blocks[b], lo, nodes, boxes, radii[parts], leafmap,
                extra))
        return [dask.delayed(concat)([pieces[b][i] for b in range(len(self.bounds))])
                for i in range(len(parts))]

    def _touching(self, box, radius):
        """The input blocks whose bounding box meets ``box`` grown by ``radius``."""
        meets = boxes_meeting(self._block_boxes, box[0] - radius, box[1] + radius)
        return [b for b, m in zip(self.bounds, meets) if m]

    def _partition_rounds(self, r0):
        """The coincidence scale and the halo radii, in one pass over each part.

        Each part is read once with a halo guessed from the sample and runs
        :func:`~o3d_meshless.dask._local.partition_round` with a provisional tolerance
        ``tol0`` (from the sample's spacing); a part whose need exceeds its radius runs
        again with a wider one. The exact median of the parts' scale distances then
        gives the cloud's tolerance. A part's halo result stands when no two of its
        points lie at a distance between ``tol0`` and it (the same points merge);
        otherwise (rare: points about 1e-4 spacings apart) its halo round runs again
        with the exact tolerance.
        """
        import dask

        k = self.k
        grow = math.sqrt(ROW_FACTOR * k / 8) + 2 * math.sqrt(DEP_FACTOR * k / 8)
        r0 = np.asarray(r0, dtype=np.float64)
        # r0 is about twice the 8th-neighbour distance (see _radius_guess), which the
        # halo rounds used to grow by 1.2 · grow from its high quantile (0.6 · grow > 1.7
        # for any k >= 3, so this also covers the scale balls' r0)
        radii = 0.6 * grow * r0
        tol0 = provisional_tol(r0)
        below = TOL_CHECK_FACTOR * tol0
        done, vals = [None] * self.n_parts, [None] * self.n_parts
        todo = list(range(self.n_parts))
        for rnd in range(self.max_rounds):
            g = self._gathered(radii, todo)
            res = dask.persist(*[dask.delayed(_partition_part, nout=2)(
                gi, self.boxes[p], k, tol0, below) for gi, p in zip(g, todo)])
            small = dask.compute(*[r[0] for r in res])
            again = []
            for p, got, r in zip(todo, small, res):
                need = got[0]
                if need > radii[p]:
                    radii[p] = need * HALO_MARGIN if np.isfinite(need) else radii[p] * 2
                    again.append(p)
                else:
                    done[p], vals[p] = got, r[1]
            self.stats["rounds"].append(("partition", len(todo), len(again)))
            todo = again
            if not todo:
                break
        else:
            raise RuntimeError(f"the halo radius did not settle in {self.max_rounds} rounds "
                               "(raise max_rounds)")
        self.scale = self._exact_median(vals)
        if not self.scale > 0:
            raise ValueError("`points`: almost all points are coincident (the median distance "
                             "to the 8th neighbour is 0); nothing to differentiate")
        self.tol = COINCIDENT_RTOL * self.scale
        lo, hi = min(tol0, self.tol), max(tol0, self.tol)
        redo = [p for p, d in enumerate(done) if hi > below or d[6]
                or np.any((d[5] > lo) & (d[5] <= hi))]
        self.stats["tol_provisional"] = tol0
        self.stats["halo_redone"] = len(redo)
        radii = np.minimum(radii, np.array([max(d[0], 0.0) for d in done]) * HALO_MARGIN)
        if redo:
            radii_r, done_r = self._settled_halo(radii, parts=redo)
            for p, r, d in zip(redo, radii_r[redo], done_r):
                radii[p], done[p] = r, d
        return radii, [d[:5] for d in done]

    def _exact_median(self, vals):
        """``np.median`` of the values spread over the parts (sorted arrays on workers)."""
        import dask

        summaries = dask.compute(*[dask.delayed(_summary)(v, SUMMARY) for v in vals])
        n = sum(s[0] for s in summaries)
        t1, t2 = (n - 1) // 2, n // 2
        pts = np.concatenate([s[1] for s in summaries if s[0]])
        wts = np.concatenate([np.full(len(s[1]), s[0] / len(s[1])) for s in summaries if s[0]])
        order = np.argsort(pts, kind="stable")
        pts, cum = pts[order], np.cumsum(wts[order])
        delta = 4.0 / SUMMARY
        while True:
            if delta >= 0.5:
                a, b = -np.inf, np.inf
            else:
                a = pts[min(len(pts) - 1, np.searchsorted(cum, (0.5 - delta) * n))]
                b = pts[min(len(pts) - 1, np.searchsorted(cum, (0.5 + delta) * n))]
            got = dask.compute(*[dask.delayed(_band)(v, a, b) for v in vals])
            below = sum(g[0] for g in got)
            band = np.sort(np.concatenate([g[1] for g in got]))
            if below <= t1 and below + len(band) > t2:
                v1, v2 = band[t1 - below], band[t2 - below]
                return float(np.mean(np.array([v1, v2]))) if t1 != t2 else float(v1)
            delta *= 4.0

    def _settled_halo(self, radii, layers=0, label="halo", parts=None):
        """Halo radii that hold every point the owned rows depend on (``layers``: see
        :func:`o3d_meshless.dask._local.halo_round`), grown from ``radii`` round by
        round; returns ``(radii, per-part results)`` (``parts``: only those, the
        results in their order)."""
        import dask

        radii = np.array(radii, dtype=np.float64)
        done = [None] * self.n_parts
        todo = list(range(self.n_parts)) if parts is None else list(parts)
        wanted = list(todo)
        for rnd in range(self.max_rounds + 2 * layers):
            g = self._gathered(radii, todo)
            res = dask.compute(*[dask.delayed(_halo_part)(gi, self.boxes[p], self.k, self.tol,
                                                          layers)
                                 for gi, p in zip(g, todo)])
            again = []
            for p, r in zip(todo, res):
                need = r[0]
                if need > radii[p]:
                    radii[p] = need * HALO_MARGIN if np.isfinite(need) else radii[p] * 2
                    again.append(p)
                else:
                    done[p] = r
            self.stats["rounds"].append((label, len(todo), len(again)))
            todo = again
            if not todo:
                break
        else:
            raise RuntimeError(f"the halo radius did not settle in {self.max_rounds} rounds "
                               "(raise max_rounds)")
        # a certified need is exact: every ball it measured lies within box + need, so
        # the final halo can shrink to it (the neighbour lists stay the global ones)
        done = [done[p] for p in wanted]
        need = np.full(self.n_parts, np.inf)
        need[wanted] = [d[0] for d in done]
        return np.minimum(radii, np.maximum(need, 0.0) * HALO_MARGIN), done

    def _halo_rounds(self, r_guess):
        self.radii, done = self._partition_rounds(r_guess)
        need = np.array([d[0] for d in done])
        total = np.sum([d[1] for d in done], axis=0)
        count = sum(d[2] for d in done)
        self.centre = total / max(count, 1)
        self.stats["n_owned"] = np.array([d[3] for d in done])
        self.stats["need"] = need
        self.stats["n_local"] = np.array([d[4] for d in done])
        self.stats["halo_fraction"] = float(self.stats["n_local"].sum() / self.n - 1.0)

    # -- per-part products (lazy) ---------------------------------------------------------

    def _parts(self, what):
        """Delayed per-part products, built once and shared by every result."""
        import dask

        if what in self._cache:
            return self._cache[what]
        if what == "sampling" or what[:9] == "sampling-":
            layers = 0 if what == "sampling" else int(what[9:])
            radii = self.radii if layers == 0 else self._layer_radii(layers)
            # starting a part ranks below finishing one: a worker that has a part's
            # sampling in memory runs that part's consumers before it starts another
            # (otherwise it may hold two parts' intermediates at once)
            with dask.annotate(priority=START_PRIORITY):
                g = self._gathered(radii, with_normals=self._normals is not None)
                out = [dask.delayed(_sampling_part)(
                    gi, k=self.k, tol=self.tol, height_order=self.height_order,
                    orient=self.orient, centre=self.centre) for gi in g]
        elif what in ("stiffness-lumped", "stiffness-averaged"):
            mass = what[10:]
            out = [dask.delayed(_stiffness_part)(s, mass)
                   for s in self._parts(f"sampling-{WEAK_LAYERS[mass]}")]
        elif what in ("laplacian", "gradient"):
            fn = _laplacian_part if what == "laplacian" else _gradient_part
            out = [dask.delayed(fn)(s, self.operator_options) for s in self._parts("sampling")]
        else:
            raise ValueError(what)
        self._cache[what] = out
        return out

    def _layer_radii(self, layers):
        """Halo radii for rows that depend on ``layers`` more rings of rows (computed
        once, on first use: one or more passes over the input)."""
        key = f"radii-{layers}"
        if key not in self._cache:
            radii, done = self._settled_halo(self.radii, layers, label=f"halo+{layers}")
            self.stats[f"halo_fraction+{layers}"] = float(
                np.sum([d[4] for d in done]) / self.n - 1.0)
            self._cache[key] = radii
        return self._cache[key]

    def _neighbouring_parts(self, layers):
        """Per part, the parts whose box meets its box grown by its halo radius (for
        ``layers`` rings of rows): the only ones that can own its columns."""
        radii = self._layer_radii(layers) if layers else self.radii
        return [np.flatnonzero(boxes_meeting(self.boxes, box[0] - r, box[1] + r)).tolist()
                for box, r in zip(self.boxes, radii)]

    def persist(self, *what):
        """Compute per-part products now and keep them on the cluster.

        Parameters
        ----------
        *what : {"sampling", "laplacian", "gradient", "stiffness-averaged", "stiffness-lumped"}
            Default ``("sampling",)``. Persisting ``"laplacian"`` keeps the operator rows
            for repeated :meth:`laplacian_apply` / :meth:`smooth` calls;
            ``"stiffness-averaged"`` (or ``-lumped``) keeps the weak form's rows for
            :meth:`spectrum` and :meth:`stiffness_blocks`.

        Returns
        -------
        self
        """
        import dask

        what = what or ("sampling",)
        for w in what:
            if w not in PERSISTABLE:
                raise ValueError(f"`what` must be one of {PERSISTABLE}; got {w!r}")
        for w in what:
            self._cache[w] = list(dask.persist(*self._parts(w)))
            self._persisted.add(w)
        return self

    def _to_original(self, results, tail, dtype):
        """Per-part ``(owned_ids, values)`` Delayed → Dask array in input order."""
        import dask
        import dask.array as da

        nb = len(self.bounds)
        cut = [dask.delayed(_split_result, nout=nb)(r, self.bounds) for r in results]
        blocks = []
        for b, (lo, hi) in enumerate(self.bounds):
            m = dask.delayed(merge)(lo, hi, tail, dtype, *[c[b] for c in cut])
            blocks.append(da.from_delayed(m, shape=(hi - lo,) + tuple(tail), dtype=dtype))
        out = da.concatenate(blocks, axis=0)
        # to_npy can write it from the parts' rows without gathering them per block
        setattr(out, ROW_PIECES, RowPieces(list(results), list(self.bounds), out.name))
        return out

    def _values(self, values, name="values"):
        src = as_source(values, name=name, n=self.n, bounds=self.bounds)
        return src

    def _apply(self, what, src):
        """Per-part ``(owned_ids, op @ f)`` for the operator ``what``."""
        import dask

        nb = len(self.bounds)
        out = []
        if src.path is not None and what not in self._persisted:
            # a file and no kept operator: each part builds its rows, reads the values
            # at their columns and applies them in one task, so no operator waits in a
            # worker's memory for the scheduler to reach its application
            build = _laplacian_part if what == "laplacian" else _gradient_part
            return [dask.delayed(_built_and_applied)(build, s, self.operator_options,
                                                     src.path)
                    for s in self._parts("sampling")]
        for op in self._parts(what):
            if src.path is not None:          # a kept operator: read and apply
                out.append(dask.delayed(_apply_from_file)(op, src.path))
                continue
            ids = dask.delayed(_used_split, nout=nb)(op, self.bounds)
            picks = [dask.delayed(take)(src.blocks[b], self.bounds[b][0], ids[b])
                     for b in range(nb)]
            out.append(dask.delayed(_apply_part)(op, *picks))
        return out

    # -- public results -------------------------------------------------------------------
