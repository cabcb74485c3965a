"""Tangent vector fields on point clouds: the connection Laplacian, parallel transport
and the logarithmic map (vector heat method), the Hodge decomposition and smoothest
n-direction fields.

Vectors are stored per point either as 3-D tangent vectors ``(n, 3)`` or as complex
numbers ``z = X·t_u + i X·t_v`` in the point's frame (rows ``(t_u, t_v, n)``, normals
consistently oriented).
"""
