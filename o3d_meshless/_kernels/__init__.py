"""Compiled kernels (built from the top-level ``_kernels/*.pyx``); see setup.py."""
