"""Sampled surfaces: geometry in (adapters), neighbourhoods, frames, open boundary, outliers, noise and sheets, and prepare().

Imports only the private helpers (o3d_meshless._*) and the kernels.
"""
