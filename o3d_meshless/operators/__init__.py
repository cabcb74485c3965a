"""Surface operators: the guard, assembly, the weak form, LaplaceBeltrami, SurfaceGradient/Divergence and their spectra.

Imports sampling and stencils (and the private helpers).
"""
