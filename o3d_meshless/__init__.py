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
    "LaplaceBeltrami": "operators.laplacian",
    "SurfaceGradient": "operators.gradient_divergence",
    "Divergence": "operators.gradient_divergence",
    "laplace_beltrami": "operators.laplacian",
    "surface_gradient": "operators.gradient_divergence",
    "divergence": "operators.gradient_divergence",
    "estimate_frames": "sampling.frames",
    "prepare": "sampling.sampled_surface",
    "Sampling": "sampling.sampled_surface",
    "spectrum": "operators.laplacian",
    "spectrum_report": "operators.spectra",
    "SpectrumReport": "operators.spectra",
    "SpectrumResult": "operators.spectra",
    "stencil_weights": "stencils",
    "ScatteredDerivatives": "scattered.scattered_derivatives",
    "scattered_gradient": "scattered.scattered_derivatives",
    "scattered_hessian": "scattered.scattered_derivatives",
    "scattered_laplacian": "scattered.scattered_derivatives",
    "solve_poisson": "scattered.poisson",
    "PoissonSolution": "scattered.poisson",
    "FieldCalculus": "scattered.vector_calculus",
    "field_gradient": "scattered.vector_calculus",
    "field_divergence": "scattered.vector_calculus",
    "curl": "scattered.vector_calculus",
    "field_laplacian": "scattered.vector_calculus",
    # the geometry toolkit
    "geodesic_distance": "toolkit.geodesic",
    "HeatGeodesics": "toolkit.geodesic",
    "curvature": "toolkit.surface_curvature",
    "CurvatureResult": "toolkit.surface_curvature",
    "heat_kernel_signature": "toolkit.descriptors",
    "wave_kernel_signature": "toolkit.descriptors",
    "shape_dna": "toolkit.descriptors",
    "heat_kernel": "toolkit.descriptors",
    "diffusion_distance": "toolkit.descriptors",
    "heat_diffusion": "toolkit.smoothing",
    "smooth_field": "toolkit.smoothing",
    "denoise_points": "toolkit.smoothing",
    "solve_surface_poisson": "toolkit.surface_poisson",
    "SurfacePoissonResult": "toolkit.surface_poisson",
    # tangent vector fields
    "ConnectionLaplacian": "vector_fields.connection_laplacian",
    "connection_laplacian": "vector_fields.connection_laplacian",
    "VectorHeat": "vector_fields.vector_heat",
    "transport_vectors": "vector_fields.vector_heat",
    "log_map": "vector_fields.vector_heat",
    "HodgeDecomposition": "vector_fields.hodge",
    "hodge_decomposition": "vector_fields.hodge",
    "harmonic_fields": "vector_fields.hodge",
    "surface_curl": "vector_fields.hodge",
    "DirectionField": "vector_fields.direction_fields",
    "direction_field": "vector_fields.direction_fields",
    # geometry in and out
    "as_points": "sampling.adapters",
    "as_normals": "sampling.adapters",
    "attach": "io.attach_results",
    "register": "io.class_methods",
    "unregister": "io.class_methods",
    "clear_cache": "io.class_methods",
    "read_geometry": "io.read",
    "save_npz": "io.npz",
    "load_npz": "io.npz",
    "save_ply": "io.ply_writer",
    "sample_path": "io.read",
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
