"""o3d_meshless: meshless surface calculus on point clouds.

Surface gradients, divergence, Laplace–Beltrami matrices and their spectra, computed
from per-point neighbourhood stencils and attached back onto Open3D / trimesh geometry.

Conventions (see README "Conventions"):

* ``L`` approximates **−Δ_S** in *strong* (collocation) form, so ``L @ f ≈ −Δ_S f`` pointwise;
  it is positive semi-definite in spirit (eigenvalues ≥ 0), not symmetric.
* ``M`` (``op.M_``, and the ``M`` of the strong form) is a diagonal lumped-area matrix;
  ``M.sum()`` ≈ surface area. The weak form's pencil ``K v = λ M v`` uses the averaged
  mass by default, which is not diagonal: its rows sum to the point areas
  (``M.sum(axis=1)``).
* Eigenvectors are normalised so that ``v.T @ M @ v == 1``.
* Tangent frames are stored as rows ``(t_u, t_v, n)``.

Submodules are imported lazily, so ``import o3d_meshless`` is cheap and works where
Open3D's system libraries are missing.
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    # operators and one-line functions
    "LaplaceBeltrami": "laplacian",
    "SurfaceGradient": "operators",
    "Divergence": "operators",
    "laplace_beltrami": "laplacian",
    "surface_gradient": "operators",
    "divergence": "operators",
    "estimate_frames": "frames",
    "prepare": "sampling",
    "Sampling": "sampling",
    "spectrum": "laplacian",
    "spectrum_report": "spectra",
    "SpectrumReport": "spectra",
    "SpectrumResult": "spectra",
    "stencil_weights": "stencils",
    "ScatteredDerivatives": "scattered",
    "scattered_gradient": "scattered",
    "scattered_hessian": "scattered",
    "scattered_laplacian": "scattered",
    "solve_poisson": "poisson",
    "PoissonSolution": "poisson",
    "FieldCalculus": "vector_calculus",
    "field_gradient": "vector_calculus",
    "field_divergence": "vector_calculus",
    "curl": "vector_calculus",
    "field_laplacian": "vector_calculus",
    # the geometry toolkit
    "geodesic_distance": "geodesic",
    "HeatGeodesics": "geodesic",
    "curvature": "surface_curvature",
    "CurvatureResult": "surface_curvature",
    "heat_kernel_signature": "descriptors",
    "wave_kernel_signature": "descriptors",
    "shape_dna": "descriptors",
    "heat_kernel": "descriptors",
    "diffusion_distance": "descriptors",
    "heat_diffusion": "smoothing",
    "smooth_field": "smoothing",
    "denoise_points": "smoothing",
    "solve_surface_poisson": "surface_poisson",
    "SurfacePoissonResult": "surface_poisson",
    # geometry in and out
    "as_points": "adapters",
    "as_normals": "adapters",
    "attach": "attach_results",
    "register": "class_methods",
    "unregister": "class_methods",
    "clear_cache": "class_methods",
    "read_geometry": "io",
    "save_npz": "npz",
    "load_npz": "npz",
    "save_ply": "ply_writer",
    "sample_path": "io",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'o3d_meshless' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
