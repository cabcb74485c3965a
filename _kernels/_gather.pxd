# Shared nogil helper: local coordinates of one stencil's neighbours.
from libc.math cimport sqrt


cdef inline double gather_local(
        const double[:, ::1] points, const Py_ssize_t[:, ::1] neighbors,
        const double[:, :, ::1] bases, bint use_basis, Py_ssize_t i, Py_ssize_t c, int d,
        double* off, double* coords, double* dist) noexcept nogil:
    """Write row j of ``coords`` (k x d) = neighbour j of stencil ``i`` minus centre ``c``,
    in the local axes ``bases[c]`` (first d rows) or the ambient axes; ``dist`` (may be
    NULL) gets the ambient distances. ``off`` is D doubles of per-thread scratch.
    Returns the largest distance."""
    cdef Py_ssize_t j, nb
    cdef int a, b, D = <int>points.shape[1], k = <int>neighbors.shape[1]
    cdef double r2, acc, h = 0.0
    for j in range(k):
        nb = neighbors[i, j]
        r2 = 0.0
        for b in range(D):
            off[b] = points[nb, b] - points[c, b]
            r2 = r2 + off[b] * off[b]
        r2 = sqrt(r2)
        if dist != NULL:
            dist[j] = r2
        if r2 > h:
            h = r2
        for a in range(d):
            if use_basis:
                acc = 0.0
                for b in range(D):
                    acc = acc + bases[c, a, b] * off[b]
                coords[j * d + a] = acc
            else:
                coords[j * d + a] = off[a]
    return h
