# Largest empty angular sector among each centre's neighbours, seen in its tangent plane
# (the open-boundary test of o3d_meshless.boundary). One pass per neighbourhood: project,
# take angles, insertion-sort them (k is small), scan the gaps.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport atan2, cos, sin, M_PI, NAN


def tangent_gaps(
        const double[:, ::1] points,        # IN  (n, 3)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,)
        const double[:, :, ::1] axes,       # IN  (n, >= 2, 3) rows t_u, t_v of every point
        double[::1] gap,                    # OUT (m,) largest gap, radians
        double[:, ::1] bisector,            # OUT (m, 2) its bisector in (t_u, t_v)
        int n_threads):
    cdef Py_ssize_t m = centers.shape[0], r, i, j, nb
    cdef int k = <int>neighbors.shape[1], a, b
    cdef double* ang
    cdef double u, v, x, g, best, mid
    with nogil, parallel(num_threads=n_threads):
        ang = <double*> malloc(k * sizeof(double))
        for r in prange(m, schedule='static'):
            if ang == NULL:                     # out of memory: the wrapper raises
                gap[r] = NAN
                continue
            i = centers[r]
            for j in range(k):
                nb = neighbors[r, j]
                u = 0.0
                v = 0.0
                for a in range(3):
                    x = points[nb, a] - points[i, a]
                    u = u + x * axes[i, 0, a]
                    v = v + x * axes[i, 1, a]
                x = atan2(v, u)
                b = j - 1                       # insertion sort, ascending
                while b >= 0 and ang[b] > x:
                    ang[b + 1] = ang[b]
                    b = b - 1
                ang[b + 1] = x
            best = ang[0] + 2 * M_PI - ang[k - 1]     # the gap that wraps around
            mid = ang[k - 1] + 0.5 * best
            for j in range(1, k):
                g = ang[j] - ang[j - 1]
                if g > best:
                    best = g
                    mid = ang[j - 1] + 0.5 * g
            gap[r] = best
            bisector[r, 0] = cos(mid)
            bisector[r, 1] = sin(mid)
        free(ang)
