"""Planar and volumetric scattered data: derivatives with error bounds, vector calculus on fields, Poisson problems.

Imports operators, stencils and sampling.
"""
