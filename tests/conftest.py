"""Shared point-cloud fixtures.

Every fixture is a *factory*: request it by name and call it, e.g.

    def test_something(fibonacci_sphere, random_sphere):
        p = fibonacci_sphere(2000)            # (2000, 3) on the unit sphere
        q = random_sphere(1000, seed=3)

Each call returns fresh arrays (safe to modify). The spheres are those of
:mod:`o3d_meshless.testing` (used by the accuracy tests too). Keep the sizes at
1000–3000 points so the suite stays fast.
"""
import numpy as np
import pytest

from o3d_meshless import testing


def make_fibonacci_sphere(n, radius=1.0):
    """``n`` quasi-uniform points on the sphere (golden-angle spiral), (n, 3)."""
    return radius * testing.fibonacci_sphere(n)


def make_random_sphere(n, seed=0, radius=1.0):
    """``n`` i.i.d. uniform points on the sphere, (n, 3)."""
    return radius * testing.random_sphere(n, seed=seed)


def make_torus(n, seed=0, R=1.0, r=0.4):
    """``n`` i.i.d. area-uniform points on a torus about the z axis and their unit normals.

    Returns ``(points, normals)``, both (n, 3); normals point away from the tube's core.
    """
    points = testing.random_torus(n, R=R, r=r, seed=seed)
    return points, testing.torus_normals(points, R=R)


def make_planar_grid(nx, ny=None, h=1.0, z=0.0):
    """Regular ``nx`` × ``ny`` grid with spacing ``h`` in the plane ``z`` = const, (nx*ny, 3).

    Point ``(i, j)`` (``i`` along x) is row ``j * nx + i``.
    """
    ny = nx if ny is None else ny
    x, y = np.meshgrid(np.arange(nx) * h, np.arange(ny) * h)
    return np.c_[x.ravel(), y.ravel(), np.full(nx * ny, float(z))]


@pytest.fixture
def fibonacci_sphere():
    """Factory ``fibonacci_sphere(n, radius=1.0) -> (n, 3)``."""
    return make_fibonacci_sphere


@pytest.fixture
def random_sphere():
    """Factory ``random_sphere(n, seed=0, radius=1.0) -> (n, 3)``."""
    return make_random_sphere


@pytest.fixture
def torus():
    """Factory ``torus(n, seed=0, R=1.0, r=0.4) -> (points, normals)``."""
    return make_torus


@pytest.fixture
def planar_grid():
    """Factory ``planar_grid(nx, ny=None, h=1.0, z=0.0) -> (nx*ny, 3)``."""
    return make_planar_grid
