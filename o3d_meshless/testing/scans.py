"""Synthetic single-view range scans with the defects of real ones.

:func:`raycast_scan` casts one ray per pixel of a pinhole camera at a small scene (a
sphere in front of a wall) with Open3D's ``RaycastingScene``, and can add:

* range noise along the rays;
* **mixed pixels**: at depth edges a beam straddles the foreground and the background
  and returns a range in between, so the point floats in the gap (the commonest
  outlier of LiDAR and time-of-flight data);
* **rows**: a sensor with few, widely spaced scan lines and many samples along each,
  so a point's nearest neighbours can all lie on its own line.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RangeScan", "raycast_scan"]


@dataclass
class RangeScan:
    """Points of a ray-cast scan and what was planted in them.

    Attributes
    ----------
    points : ndarray of shape (n, 3)
        Hits, camera at the origin looking along +z.
    mixed : ndarray of shape (n,), bool
        Mixed pixels: ranges blended between a foreground and a background hit.
    row : ndarray of shape (n,), int
        Scan line (image row) of each point.
    on_sphere : ndarray of shape (n,), bool
        The (unblended) hit is on the sphere, not the wall.
    sphere_centre : ndarray of shape (3,)
    sphere_radius : float
    """

    points: np.ndarray
    mixed: np.ndarray
    row: np.ndarray
    on_sphere: np.ndarray
    sphere_centre: np.ndarray
    sphere_radius: float


def raycast_scan(width: int = 240, height: int = 180, *, fov: float = 50.0,
                 noise: float = 0.0, mixed_fraction: float = 0.5,
                 seed: int = 0) -> RangeScan:
    """A single-view scan of a sphere (radius 0.5, 2 m away) before a wall (3 m away).

    Parameters
    ----------
    width, height : int
        Pixels per scan line and scan lines. ``height`` much smaller than ``width``
        gives a row-structured scan (dense along lines, sparse across).
    fov : float, default=50
        Horizontal field of view in degrees (the vertical one follows the pixel
        aspect, so rows are as far apart as the line count makes them).
    noise : float, default=0
        Standard deviation of the range noise, in units of the mean pixel footprint on
        the sphere.
    mixed_fraction : float, default=0.5
        Fraction of the depth-edge pixels (a neighbour's range differs by more than
        0.3 m) whose range is blended, ``t = a t_fg + (1 − a) t_bg`` with ``a`` uniform in
        [0.2, 0.8].
    seed : int, default=0

    Returns
    -------
    RangeScan

    Examples
    --------
    >>> from o3d_meshless.testing.scans import raycast_scan
    >>> scan = raycast_scan(120, 90)
    >>> scan.points.shape[1], bool(scan.mixed.any()), bool(scan.on_sphere.any())
    (3, True, True)
    """
    from ..sampling.adapters import _import_open3d

    o3d = _import_open3d("raycast_scan")
    rng = np.random.default_rng(seed)
    centre, radius = np.array([0.0, 0.0, 2.0]), 0.5
    scene = o3d.t.geometry.RaycastingScene()
    sphere = o3d.geometry.TriangleMesh.create_sphere(radius, resolution=120)
    sphere.translate(centre)
    wall = o3d.geometry.TriangleMesh.create_box(6.0, 6.0, 0.1)
    wall.translate([-3.0, -3.0, 3.0])
    ids = [scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(m))
           for m in (sphere, wall)]
    # pinhole rays: square pixels in angle, `height` lines across the same angular pitch
    half = np.tan(np.radians(fov) / 2)
    u = np.linspace(-half, half, width)
    v = np.linspace(-half * height / width, half * height / width, height)
    uu, vv = np.meshgrid(u, v)
    dirs = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    dirs /= np.linalg.norm(dirs, axis=-1, keepdims=True)
    rays = np.concatenate([np.zeros_like(dirs), dirs], axis=-1).astype(np.float32)
    hit = scene.cast_rays(o3d.core.Tensor(rays))
    t = hit["t_hit"].numpy().astype(np.float64)
    geom = hit["geometry_ids"].numpy()
    found = np.isfinite(t)
    # depth edges: a 4-neighbour's range differs by more than 0.3 m
    edge = np.zeros_like(found)
    partner = np.full(t.shape, np.nan)
    for axis, step in ((0, 1), (0, -1), (1, 1), (1, -1)):
        other = np.roll(t, step, axis=axis)
        jump = found & np.isfinite(other) & (np.abs(other - t) > 0.3)
        jump &= ~edge
        edge |= jump
        partner[jump] = other[jump]
    mixed = edge & (rng.random(t.shape) < mixed_fraction)
    a = rng.uniform(0.2, 0.8, t.shape)
    t = np.where(mixed, a * t + (1 - a) * partner, t)
    footprint = 2 * half / width * centre[2]
    if noise:
        t = t + noise * footprint * rng.standard_normal(t.shape)
    points = dirs * t[..., None]
    rows = np.broadcast_to(np.arange(height)[:, None], t.shape)
    return RangeScan(points=np.ascontiguousarray(points[found]), mixed=mixed[found],
                     row=rows[found].copy(), on_sphere=(geom == ids[0])[found],
                     sphere_centre=centre, sphere_radius=radius)
