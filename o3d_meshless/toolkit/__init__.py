"""The geometry toolkit: geodesics, curvature, descriptors (HKS, WKS, ShapeDNA), smoothing and surface Poisson problems.

Imports operators, stencils and sampling.
"""
