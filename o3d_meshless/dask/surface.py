"""The distributed surface: per-part pipeline, results as Dask arrays."""
from __future__ import annotations


import numpy as np

from ._local import ROW_FACTOR
from ._partitioned import PartitionedCloud, _check_int
from ._tasks import (WEAK_LAYERS, _assembled, _boundary_part, _column, _curvature_part,
                     _frames_part, _global_block, _mass_part, _neighbors_part, _normals_part,
                     _weak_rows)

__all__ = ["DaskSurface"]


class DaskSurface(PartitionedCloud):
    """Surface operators of a point cloud too large for one process, on Dask.

    The cloud is split into ``n_parts`` boxes by a k-d split of a sample; each part
    gets a halo (the points within ``radius[p]`` of its box) measured so that every
    owned point's neighbourhoods — and those of the points its row depends on through
    the open-boundary test — are exactly the ones the single-machine pipeline finds.
    Each part then runs the ordinary pipeline (:mod:`o3d_meshless.sampling.sampled_surface`,
    :class:`~o3d_meshless.LaplaceBeltrami`, :class:`~o3d_meshless.SurfaceGradient`,
    :func:`o3d_meshless.toolkit.surface_curvature.curvature`) on its points plus halo and keeps
    its owned rows. Results are Dask arrays in the input order.

    Constructing it computes the partition (small metadata) eagerly: one pass over the
    input for the bounding box and a strided sample, then one (or more, if a halo falls
    short) for both the coincidence scale (an exact distributed median) and the halo
    radii; a part whose points lie between the guessed and the exact coincidence
    tolerance has its halo measured again. Everything else is lazy.

    Parameters
    ----------
    points : dask.array.Array, ndarray, np.memmap, zarr array or path, shape (n, 3)
        A ``.npy`` path or a memmap of one is read block-wise inside the tasks.
    k : int, default=16
        Neighbours per point, as in :class:`~o3d_meshless.LaplaceBeltrami`.
    normals : None or array-like of shape (n, 3), default=None
        ``None`` estimates them (PCA + height fit); an array (same kinds as ``points``)
        gives one normal per point, NaN rows estimated.
    orient : {None, "outward"}, default=None
        ``"mst"`` propagates over the whole k-NN graph and is not available here (give
        oriented ``normals`` instead). ``"outward"`` uses the global centre of the
        unique points, summed part by part.
    height_order : {0, 2, 3}, default=2
    n_parts : int or None
        Number of parts (default ``ceil(n / part_points)``).
    part_points : int, default=200_000
    block_rows : int, default=1_000_000
        Rows per input block for NumPy / ``.npy`` inputs (Dask inputs keep their chunks).
    operator_options : dict or None
        Extra options of the operators (``method``, ``order``, ``weights``, ``guard`` …).
    max_rounds : int, default=6
        Halo radius rounds before giving up (RuntimeError).

    Attributes
    ----------
    n, n_parts : int
    boxes : ndarray of shape (n_parts, 2, 3)
    radii : ndarray of shape (n_parts,)
        Halo radius of each part.
    scale : float
        The coincidence scale (median distance to the 8th neighbour, whole cloud).
    stats : dict
        ``n_owned``, ``n_local`` per part, ``halo_fraction``, ``rounds``,
        ``tol_provisional`` (the guessed coincidence tolerance) and ``halo_redone``
        (parts measured again with the exact one).

    Examples
    --------
    >>> import numpy as np, dask
    >>> import o3d_meshless as om
    >>> from o3d_meshless.dask import DaskSurface
    >>> p = np.random.default_rng(0).normal(size=(3000, 3))
    >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
    >>> surf = DaskSurface(p, n_parts=3, block_rows=1000)
    >>> with dask.config.set(scheduler="synchronous"):
    ...     Lf = surf.laplacian_apply(p[:, 2]).compute()
    >>> L = om.LaplaceBeltrami(orient=None).fit(p).L_
    >>> bool(np.abs(Lf - L @ p[:, 2]).max() < 1e-12 * np.abs(Lf).max())
    True
    """

    def frames(self):
        """Tangent frames, rows ``(t_u, t_v, n)``.

        Returns
        -------
        dask.array.Array of shape (n, 3, 3), float64

        Examples
        --------
        >>> import numpy as np, dask
        >>> from o3d_meshless.dask import DaskSurface
        >>> p = np.random.default_rng(0).normal(size=(2000, 3))
        >>> p /= np.linalg.norm(p, axis=1, keepdims=True)
        >>> F = DaskSurface(p, n_parts=2, orient="outward").frames()
        >>> with dask.config.set(scheduler="synchronous"):
        ...     bool((np.einsum("ij,ij->i", F[:, 2].compute(), p) > 0.99).all())
        True
        """
        import dask

        res = [dask.delayed(_frames_part)(s) for s in self._parts("sampling")]
        return self._to_original(res, (3, 3), np.float64)

    def normals(self):
        """Unit normals, ``(n, 3)`` Dask array (the last frame row)."""
        import dask

        res = [dask.delayed(_normals_part)(s) for s in self._parts("sampling")]
        return self._to_original(res, (3,), np.float64)

    def boundary(self):
        """Open-boundary mask, ``(n,)`` bool Dask array (the gap test of
        :mod:`o3d_meshless.sampling.boundary`)."""
        import dask

        res = [dask.delayed(_boundary_part)(s) for s in self._parts("sampling")]
        return self._to_original(res, (), bool)

    def neighbors(self, m=None):
        """Global ids of each point's ``m`` nearest distinct neighbours (default k).

        A group of coincident points is named by its smallest id. Used to verify the
        halos: equal to the single-machine k-NN for every point.

        Returns
        -------
        dask.array.Array of shape (n, m), int64
        """
        import dask

        m = self.k if m is None else _check_int(m, "m", 1)
        if m > ROW_FACTOR * self.k:
            raise ValueError(f"`m` must be at most {ROW_FACTOR}·k = "
                             f"{ROW_FACTOR * self.k} (the halo covers no more)")
        res = [dask.delayed(_neighbors_part)(s, m) for s in self._parts("sampling")]
        return self._to_original(res, (m,), np.int64)

    def laplacian_apply(self, values):
        """``L @ f``: the strong-form Laplace–Beltrami ``L ≈ −Δ_S`` applied to a field.

        Parameters
        ----------
        values : array-like of shape (n,) or (n, c)
            Dask array, NumPy array, memmap, zarr array or ``.npy`` path.

        Returns
        -------
        dask.array.Array of shape (n,) or (n, c)
        """
        src = self._values(values)
        return self._to_original(self._apply("laplacian", src), src.tail, np.float64)

    def surface_gradient(self, values):
        """Tangential gradient ``∇_S f`` of a scalar field.

        Parameters
        ----------
        values : array-like of shape (n,)

        Returns
        -------
        dask.array.Array of shape (n, 3)
        """
        src = self._values(values)
        if src.tail:
            raise ValueError(f"`values` must have shape (n,) for surface_gradient; got "
                             f"(n,) + {src.tail}: call it once per column")
        return self._to_original(self._apply("gradient", src), (3,), np.float64)

    def mass(self):
        """Lumped areas (the diagonal of ``M``), ``(n,)`` Dask array."""
        import dask

        res = [dask.delayed(_mass_part)(op) for op in self._parts("laplacian")]
        return self._to_original(res, (), np.float64)

    def smooth(self, values, tau, steps=1):
        """Explicit heat-flow smoothing: ``steps`` times ``f ← f − tau · (L @ f)``.

        Each step is one :meth:`laplacian_apply` (one halo exchange, through the input
        order). Explicit Euler is stable for ``tau · λ_max(L) < 2``; ``λ_max`` is about
        ``10 / h²`` for spacing ``h``, so take ``tau`` ≲ ``0.1 h²`` (many small steps), or
        use the implicit :func:`o3d_meshless.smooth_field` on a single machine.

        Parameters
        ----------
        values : array-like of shape (n,) or (n, c)
        tau : float > 0
        steps : int >= 1

        Returns
        -------
        dask.array.Array, the shape of ``values``
        """
        import dask.array as da

        if not (isinstance(tau, (int, float, np.floating)) and np.isfinite(tau) and tau > 0):
            raise ValueError(f"`tau` must be a finite number > 0; got {tau!r}")
        steps = _check_int(steps, "steps", 1)
        src = self._values(values)
        f = da.concatenate([da.from_delayed(b, shape=(hi - lo,) + src.tail, dtype=np.float64)
                            for b, (lo, hi) in zip(src.blocks, self.bounds)], axis=0)
        for _ in range(steps):
            f = f - float(tau) * self.laplacian_apply(f)
        return f

    def curvature(self, *, order=3, weights="gaussian"):
        """Principal curvatures from height fits on each part
        (:func:`o3d_meshless.toolkit.surface_curvature.curvature` on the part's Sampling).

        The fits use this surface's ``k`` (``curvature``'s own default k is 20 for order
        3: pass ``k=20`` to DaskSurface to match it) and its orientation: with
        ``orient=None`` the sign of ``mean``/``k1``/``k2`` follows each point's normal.

        Returns
        -------
        dict of dask.array.Array of shape (n,)
            ``mean``, ``gaussian``, ``k1``, ``k2``.
        """
        import dask

        from ..toolkit.surface_curvature import ORDERS, WEIGHTS

        if order not in ORDERS:
            raise ValueError(f"`order` must be one of {ORDERS}; got {order!r}")
        if weights not in WEIGHTS:
            raise ValueError(f"`weights` must be one of {WEIGHTS}; got {weights!r}")
        res = [dask.delayed(_curvature_part)(s, order, weights) for s in self._parts("sampling")]
        out = {}
        for i, name in enumerate(("mean", "gaussian", "k1", "k2")):
            pick = [dask.delayed(_column)(r, i) for r in res]
            out[name] = self._to_original(pick, (), np.float64)
        return out

    def laplacian_blocks(self):
        """Rows of ``L`` as a list of Delayed ``(row_ids, csr)`` blocks, one per part.

        ``row_ids`` (int64, sorted) are the input indices of the part's rows and ``csr``
        is a ``scipy.sparse.csr_matrix`` of shape ``(len(row_ids), n)`` with global
        column indices. Nothing is assembled: a block needs memory for its own rows only.
        """
        import dask

        return [dask.delayed(_global_block)(op, self.n) for op in self._parts("laplacian")]

    def laplacian_matrix(self, *, max_bytes=None):
        """The whole ``L`` as one ``scipy.sparse.csr_matrix`` of shape (n, n).

        Only for clouds whose matrix fits in this process: its size is estimated from
        the first part (12 bytes per stored entry plus 8 per row) and a ``MemoryError``
        is raised above ``max_bytes`` (default: half the memory available). Use
        :meth:`laplacian_blocks` otherwise.
        """
        return _assembled([self.laplacian_blocks()], self.n, max_bytes, "L",
                          "laplacian_blocks()")[0]

    def _weak_parts(self, mass):
        """Per-part weak-form rows (lazy, built once), after checking ``mass``."""
        _check_mass(mass)
        return self._parts(f"stiffness-{mass}")

    def stiffness_blocks(self, mass="averaged"):
        """Rows of the weak form's stiffness ``K`` and mass matrix, per part.

        The same matrices as ``om.LaplaceBeltrami(form="weak", mass=mass)`` on the whole
        cloud (``K_`` and ``mass_``; exact to rounding, see the module notes). A weak
        row also depends on the Voronoi cells of the points around it, and the averaged
        mass on their stiffness rows, so the first call measures a wider halo (one more
        ring of neighbourhoods for ``"lumped"``, two for ``"averaged"``; about
        ``stats["halo_fraction+1"]`` / ``["halo_fraction+2"]`` more points per part).

        Parameters
        ----------
        mass : {"averaged", "lumped"}, default="averaged"

        Returns
        -------
        list of Delayed ``(row_ids, K_rows, mass_rows)``
            One per part: ``row_ids`` (int64, sorted) the input indices of the part's
            rows, ``K_rows`` and ``mass_rows`` ``scipy.sparse.csr_matrix`` of shape
            ``(len(row_ids), n)`` with global column indices.

        Examples
        --------
        >>> import numpy as np, dask, o3d_meshless as om
        >>> from o3d_meshless.dask import DaskSurface
        >>> from o3d_meshless.testing import random_sphere
        >>> p = random_sphere(3000, seed=1)
        >>> surf = DaskSurface(p, n_parts=3, block_rows=1000)
        >>> with dask.config.set(scheduler="synchronous"):
        ...     K, B = surf.stiffness_matrices(mass="lumped")
        >>> ref = om.LaplaceBeltrami(form="weak", mass="lumped", orient=None,
        ...                          outliers="keep", denoise=False).fit(p)
        >>> bool(abs(K - ref.K_).max() < 1e-12 * abs(ref.K_).max())
        True
        """
        import dask

        return [dask.delayed(_weak_rows, nout=3)(op, self.n) for op in self._weak_parts(mass)]

    def stiffness_matrices(self, mass="averaged", *, max_bytes=None):
        """The weak form's ``K`` and mass matrix as two ``scipy.sparse.csr_matrix``
        of shape (n, n), assembled in this process (see :meth:`stiffness_blocks`).

        Raises ``MemoryError`` when they would take more than ``max_bytes`` (default:
        half the memory available); use :meth:`stiffness_blocks` or :meth:`spectrum`
        then.

        Returns
        -------
        K, mass : scipy.sparse.csr_matrix of shape (n, n)
        """
        import dask

        parts = self._weak_parts(mass)
        rows, masses = ([dask.delayed(_global_block)(op, self.n, which) for op in parts]
                        for which in ("K", "B"))
        return tuple(_assembled([rows, masses], self.n, max_bytes, "K and the mass",
                                "stiffness_blocks()"))


    def spectrum(self, n_modes=20, *, mass="averaged", rtol=1e-6, max_iter=400,
                 coarse_points=8000, vectors="numpy", progress=None):
        """Smallest eigenpairs of the weak form ``K v = λ B v``, with the rows of ``K``
        and ``B`` kept on the workers.

        The same pencil as ``om.spectrum(points, n_modes, form="weak")`` (with
        ``outliers="keep", denoise=False``: clean the cloud first), solved by LOBPCG
        started from a coarse subsample's modes and preconditioned part by part (see
        :mod:`o3d_meshless.dask._spectrum`). The iteration's blocks of vectors and the
        halo plans stay on the workers; the client holds small Gram matrices and, with
        ``vectors="numpy"``, the ``n × n_modes`` result.

        Parameters
        ----------
        n_modes : int, default=20
        mass : {"averaged", "lumped"}, default="averaged"
        rtol : float, default=1e-6
            Stop when every wanted mode's residual ``|K x − λ B x|`` is below ``rtol``
            times ``λ_max |B x|``; eigenvalues are then accurate to about ``rtol²``
            relative to the window's largest.
        max_iter : int, default=400
        coarse_points : int, default=8000
            Points of the subsample whose modes start the iteration.
        vectors : {"numpy", "dask"}, default="numpy"
            ``"dask"``: the eigenvectors stay on the workers and come back as a Dask
            array in input order (write it with :func:`~o3d_meshless.dask.to_npy`
            without gathering it); the workers keep them while this ``DaskSurface``
            lives, until the next ``spectrum`` call.
        progress : bool or None
            Progress line (iterations and residual); None: only on a terminal.

        Returns
        -------
        SpectrumResult
            ``(values, vectors)``, ``(n_modes,)`` and ``(n, n_modes)`` (NumPy, or Dask
            with ``vectors="dask"``), ``vᵀ B v = 1``, with ``.report``
            (:class:`~o3d_meshless.SpectrumReport`; its orthogonality defect is
            computed on the workers).

        Warns
        -----
        RuntimeWarning
            When ``max_iter`` ends the iteration before ``rtol`` is reached.

        Notes
        -----
        After the call, ``spectrum_info_`` holds the LOBPCG ``iterations``, the largest
        relative ``residual``, the preconditioner's shift ``sigma``, the rows'
        ``asymmetry`` per matrix and the ``seconds`` of each stage.

        Examples
        --------
        >>> import numpy as np, dask
        >>> from o3d_meshless.dask import DaskSurface
        >>> from o3d_meshless.testing import random_sphere
        >>> surf = DaskSurface(random_sphere(6000, seed=2), n_parts=3)
        >>> with dask.config.set(scheduler="synchronous"):
        ...     vals, vecs = surf.spectrum(9, coarse_points=2000)
        >>> np.round(vals, 1) + 0.0           # l(l + 1) on the unit sphere: 0, 2 ×3, 6 ×5
        array([0., 2., 2., 2., 6., 6., 6., 6., 6.])
        """
        from .._validation import check_int
        from ._spectrum import MIN_BUFFER, distributed_spectrum

        _check_mass(mass)
        n_modes = check_int(n_modes, name="n_modes", low=1, high=self.n)
        m = n_modes + max(MIN_BUFFER, n_modes // 2)
        if 5 * m > self.n:
            raise ValueError(f"`n_modes` = {n_modes} is too many for {self.n} points in the "
                             f"distributed solver (it needs n >= 5·{m}): use "
                             "stiffness_matrices() and a single-machine solve")
        if not (isinstance(rtol, (int, float)) and 0 < rtol < 1):
            raise ValueError(f"`rtol` must be a number in (0, 1); got {rtol!r}")
        max_iter = check_int(max_iter, name="max_iter", low=1)
        coarse_points = check_int(coarse_points, name="coarse_points", low=2 * m)
        if vectors not in ("numpy", "dask"):
            raise ValueError(f"`vectors` must be 'numpy' or 'dask'; got {vectors!r}")
        result, self.spectrum_info_ = distributed_spectrum(
            self, n_modes, m, mass=mass, rtol=rtol, max_iter=max_iter,
            coarse_points=coarse_points, vectors=vectors, progress=progress)
        return result


def _check_mass(mass):
    if mass not in WEAK_LAYERS:
        raise ValueError(f"`mass` must be one of {tuple(WEAK_LAYERS)}; got {mass!r}")
