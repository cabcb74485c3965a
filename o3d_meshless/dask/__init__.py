"""Out-of-core and distributed surface operators on Dask (optional extra).

``pip install o3d_meshless[dask]`` brings ``dask[array]``, ``distributed`` and ``zarr``.

:class:`DaskSurface` splits a point cloud into boxes (a k-d split of a strided sample),
gives each box a halo of neighbour points measured so that every owned point's
neighbourhoods are exactly the single-machine ones, runs the ordinary pipeline on each
box plus halo and returns per-point results in the input order as Dask arrays: frames,
normals, open boundary, ``L @ f``, ``∇_S f``, smoothing steps, curvature, lumped areas,
and the rows of ``L`` as CSR blocks. The weak form's stiffness ``K`` and mass matrix come
as CSR blocks too (:meth:`DaskSurface.stiffness_blocks`, measured on a wider halo: a weak
row also depends on the cells around it), and :meth:`DaskSurface.spectrum` solves their
pencil with the rows left on the workers (LOBPCG from a coarse subsample's modes,
preconditioned part by part). Inputs: Dask arrays, NumPy arrays, memory-mapped
``.npy`` files (read block-wise in the tasks) and zarr arrays; :func:`to_npy` and
:func:`to_zarr` write results block by block.

Exact vs the single-machine path (tested to 1e-12, in practice bit-identical): k-NN,
coincident-point merging (the global coincidence scale is an exact distributed median),
frames, the open-boundary test, the row guard, ``L``, ``M``, ``G``, curvature and the weak
form's ``K`` and mass (lumped or averaged), for ``orient=None`` or given normals. The
distributed spectrum is an iterative solve: equal to the single-machine one to its
tolerance, not bit for bit. Differences: ``orient="mst"`` is not available (it
propagates over the whole cloud); ``orient="outward"`` uses a centre summed part by part
(rounding-level different from ``points.mean``); ties in neighbour distance (regular
grids) may pick another equidistant neighbour; the global "spacing out of range" and
"every neighbourhood collinear" checks are not made.
"""
from ._source import as_source, to_npy, to_zarr
from .surface import DaskSurface

__all__ = ["DaskSurface", "as_source", "to_npy", "to_zarr"]
