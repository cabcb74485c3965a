# Taylor least-squares stencil weights (seed 001), many stencils in parallel.
# No validation here: callers (o3d_meshless.stencils.taylor) check shapes, indices,
# finiteness and k >= p before calling.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from _local_least_squares cimport taylor_fit, taylor_scratch_size
from _gather cimport gather_local
from _types cimport intp_t


def taylor_stencils(
        const double[:, ::1] points,        # IN  (n_points, D)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,) centre index of each stencil
        const double[:, :, ::1] bases,      # IN  (n_points, d, D) local axes, or (0, d, D) = identity
        const intp_t[:, ::1] exponents,       # IN  (p, d)
        const double[::1] inv_fact,         # IN  (p,)
        const intp_t[::1] degree,             # IN  (p,)
        const double[:, ::1] combos,        # IN  (n_out, p)
        double weight_power,
        double rcond,
        bint want_bounds,
        double[:, :, ::1] weights,          # OUT (m, k, n_out)
        double[:, ::1] diagnostics,         # OUT (m, 4)
        int[::1] status,                    # OUT (m,) LAPACK info per stencil
        int n_threads):
    cdef Py_ssize_t m = neighbors.shape[0], i, c
    cdef int k = <int>neighbors.shape[1]
    cdef int p = <int>exponents.shape[0], d = <int>exponents.shape[1]
    cdef int n_out = <int>combos.shape[0]
    cdef bint use_basis = bases.shape[0] > 0
    cdef int nscratch = taylor_scratch_size(k, p, n_out) + k * d + k + 3
    cdef double* scratch
    cdef double* coords
    cdef double* dist
    cdef double* off  # per-thread (C arrays declared here would be shared by threads)
    with nogil, parallel(num_threads=n_threads):
        scratch = <double*> malloc(nscratch * sizeof(double))
        coords = scratch + taylor_scratch_size(k, p, n_out)
        dist = coords + k * d
        off = dist + k
        for i in prange(m, schedule='static'):
            if scratch == NULL:                 # out of memory: the wrapper raises
                status[i] = -200
                continue
            c = centers[i]
            gather_local(points, neighbors, bases, use_basis, i, c, d, off, coords, dist)
            status[i] = taylor_fit(coords, dist, k, d, p, &exponents[0, 0], &inv_fact[0],
                                   &degree[0], &combos[0, 0], n_out, weight_power, rcond,
                                   want_bounds, scratch, &weights[i, 0, 0], &diagnostics[i, 0])
        free(scratch)
