"""
Surface Poisson problem
=======================

Solve ``Δ_S u = f`` on the unit sphere, sampled by 8 000 random points, for the
spherical harmonic ``u = x y`` (``Δ_S u = −6 u``), with
:func:`o3d_meshless.solve_surface_poisson`. On a closed surface the solution is fixed
up to a constant: it is returned with M-weighted mean zero, as ``xy`` has.
"""
import matplotlib

matplotlib.use("Agg")

import numpy as np

import o3d_meshless as om
from o3d_meshless.plot import render_fields

rng = np.random.default_rng(0)
p = rng.normal(size=(8000, 3))
p /= np.linalg.norm(p, axis=1, keepdims=True)

exact = p[:, 0] * p[:, 1]
sol = om.solve_surface_poisson(p, -6.0 * exact, k=32)   # k = 32: see the explanations
err = sol.u - exact
print(f"relative L2 error {np.linalg.norm(err) / np.linalg.norm(exact):.2e}, "
      f"residual {sol.residual:.1e}, {sol.n_pieces} piece(s)")

# %%
# The solution and its pointwise error (note the colour bar's scale).
fig = render_fields(p, {"u, solved from f = −6xy": sol.u, "u − xy": err},
                    normals=p, up="z")
