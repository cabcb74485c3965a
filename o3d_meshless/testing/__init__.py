"""Analytic geometry, fields and reference implementations for convergence studies and
the tests.

* :mod:`~o3d_meshless.testing.surfaces`: samplers of the sphere, ellipsoid, torus,
  hemisphere and disc, analytic sphere, torus and Neumann spectra, observed convergence orders (generic);
* :mod:`~o3d_meshless.testing.franke`: Franke's functions and the node sets and
  Lipschitz estimates of Turner et al.'s Taylor least-squares experiments;
* :mod:`~o3d_meshless.testing.ghost_point_problems`: the Poisson domains and the sphere
  sampling of Ying et al.'s ghost-sample-point experiments;
* :mod:`~o3d_meshless.testing.gsp_reference`: a NumPy oracle of the ghost-point
  stencils, one stencil at a time (the compiled kernel is tested against it);
* :mod:`~o3d_meshless.testing.fem`: P1 finite elements on a triangle mesh (cotangent
  stiffness, consistent or lumped mass), the reference meshes are compared against;
* :mod:`~o3d_meshless.testing.scans`: ray-cast single-view range scans with mixed
  pixels, range noise and scan lines (needs Open3D; not imported here).
"""
from .franke import (FRANKE, SEED001, TestFunction, derivative_max, franke, franke_nodes,
                     lipschitz_estimate)
from .ghost_point_problems import (disc_domain, flower_domain, flower_radius, gbpm_sphere,
                                   poisson_exact)
from .surfaces import (ELLIPSOID_AXES, disc_neumann_eigenvalues, ellipsoid_curvatures,
                       fibonacci_sphere, hemisphere_neumann_eigenvalues, observed_order,
                       random_disc, random_ellipsoid, random_hemisphere, random_sphere,
                       random_torus, sphere_eigenvalue_errors, tangential, torus_curvatures,
                       torus_eigenvalues, torus_grid, torus_normals)

__all__ = ["fibonacci_sphere", "random_sphere", "random_ellipsoid", "ELLIPSOID_AXES",
           "random_torus", "ellipsoid_curvatures", "torus_curvatures", "gbpm_sphere", "torus_grid", "torus_normals", "sphere_eigenvalue_errors",
           "tangential", "observed_order", "TestFunction", "FRANKE", "SEED001", "franke",
           "franke_nodes", "derivative_max", "lipschitz_estimate", "disc_domain",
           "flower_domain", "flower_radius", "poisson_exact", "random_disc", "random_hemisphere",
           "disc_neumann_eigenvalues", "hemisphere_neumann_eigenvalues", "torus_eigenvalues"]
