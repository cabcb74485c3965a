"""sampling.neighbors.nearest: tie-breaking that makes every tree agree."""
import numpy as np


def test_nearest_breaks_ties_by_index():
    """Equidistant points come in index order, and a tie across the m-th place is
    decided by index, whatever the tree: two trees over the same points in different
    orders (a Dask part and the whole cloud) then agree."""
    from scipy.spatial import cKDTree

    from o3d_meshless.sampling.neighbors import nearest

    g = np.stack(np.meshgrid(np.arange(9.0), np.arange(9.0), [0.0]), -1).reshape(-1, 3)
    for m in (2, 5, 9, 13):
        d, i = nearest(cKDTree(g), g, m)
        brute = np.linalg.norm(g[:, None] - g[None], axis=2)
        want = np.lexsort((np.broadcast_to(np.arange(len(g)), brute.shape), brute),
                          axis=-1)[:, :m]
        assert np.array_equal(i, want), m
        np.testing.assert_allclose(d, np.take_along_axis(brute, want, axis=1))
    # another tree over the same points (other leaf size, unbalanced) agrees exactly
    _, i = nearest(cKDTree(g), g, 7)
    _, j = nearest(cKDTree(g, leafsize=2, balanced_tree=False), g, 7)
    assert np.array_equal(i, j)
    # ... and so does a tree over a part of them kept in the same order (a Dask part
    # with its halo), for the points whose neighbours it holds
    keep = np.flatnonzero(g[:, 0] <= 5)
    near = np.flatnonzero(g[keep, 0] <= 2)
    _, j = nearest(cKDTree(g[keep], leafsize=3), g[keep][near], 7)
    assert np.array_equal(keep[j], i[keep[near]])
