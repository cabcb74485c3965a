# Moment-coefficient stencils (seed 000): one coefficient vector a per stencil gives every
# first derivative and the Laplacian,
#     B = offsets (rows b_k, scaled to unit radius), G = B B^T, F = G o G, v = diag(G),
#     N = I - G^+ G, a = N (F N)^+ v,
#     grad f ~ sum_k a_k b_k (f_k - f_0),   lap f ~ sum_k 2 a_k (f_k - f_0).
# N is formed from the left singular vectors of B (G^+ G is the projector onto range(B);
# the SVD of B avoids squaring its condition number). Both pseudo-inverses drop singular
# values below rcond * sigma_max. No validation here: o3d_meshless.stencils.moments checks
# shapes, indices, k > d(d+3)/2 and the targets before calling.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt
from scipy.linalg.cython_lapack cimport dgesvd
from _gather cimport gather_local
from _local_least_squares cimport _fail_no_bounds


cdef inline int _moment_fit(const double* coords, int k, int d, int n_out,
                            const double* grad_coef, const double* lap_coef, double rcond,
                            double* scratch, int lwork, double* out, double* diag) noexcept nogil:
    """Weights of one stencil from its (k, d) row-major local offsets (unscaled)."""
    cdef double* Bc = scratch               # (k, d) column-major scaled offsets (destroyed)
    cdef double* Bs = Bc + k * d            # (k, d) row-major scaled offsets
    cdef double* SB = Bs + k * d            # (d,)
    cdef double* UB = SB + d                # (k, d) column-major
    cdef double* N = UB + k * d             # (k, k)
    cdef double* F = N + k * k              # (k, k)
    cdef double* FN = F + k * k             # (k, k) column-major
    cdef double* SF = FN + k * k            # (k,)
    cdef double* UF = SF + k                # (k, k) column-major
    cdef double* VTF = UF + k * k           # (k, k) column-major
    cdef double* v = VTF + k * k            # (k,)
    cdef double* y = v + k                  # (k,)
    cdef double* a = y + k                  # (k,)
    cdef double* work = a + k
    cdef double h = 0.0, r2, acc, dummy = 0.0, t
    cdef int j, l, q, i, t_out, info = 0, rank_b = 0, rank_f = 0, one = 1, r
    cdef char jobs = b'S', jobn = b'N'
    r = d * (d + 1) // 2
    for j in range(k):
        r2 = 0.0
        for q in range(d):
            r2 = r2 + coords[j * d + q] * coords[j * d + q]
        if r2 > h:
            h = r2
    h = sqrt(h)
    if h == 0.0:
        info = -100
    if info == 0:
        for j in range(k):
            for q in range(d):
                Bs[j * d + q] = coords[j * d + q] / h
                Bc[j + q * k] = Bs[j * d + q]
        # SVD of B: N = I - U_r U_r^T (projector onto the null space of G = B B^T)
        dgesvd(&jobs, &jobn, &k, &d, Bc, &k, SB, UB, &k, &dummy, &one, work, &lwork, &info)
    if info == 0:
        for q in range(d):
            if SB[q] > rcond * SB[0]:
                rank_b = rank_b + 1
        for j in range(k):
            for l in range(k):
                acc = 1.0 if j == l else 0.0
                for q in range(rank_b):
                    acc = acc - UB[j + q * k] * UB[l + q * k]
                N[j * k + l] = acc
        for j in range(k):
            for l in range(j, k):
                acc = 0.0
                for q in range(d):
                    acc = acc + Bs[j * d + q] * Bs[l * d + q]
                F[j * k + l] = acc * acc
                F[l * k + j] = acc * acc
                if j == l:
                    v[j] = acc
        for j in range(k):           # FN column-major: FN[j + l k] = sum_i F[j, i] N[i, l]
            for l in range(k):
                acc = 0.0
                for i in range(k):
                    acc = acc + F[j * k + i] * N[i * k + l]
                FN[j + l * k] = acc
        dgesvd(&jobs, &jobs, &k, &k, FN, &k, SF, UF, &k, VTF, &k, work, &lwork, &info)
    if info != 0:
        return _fail_no_bounds(out, k * n_out, diag, info)
    # y = (FN)^+ v, a = N y
    for j in range(k):
        y[j] = 0.0
    for q in range(k):
        if SF[q] <= rcond * SF[0] or SF[q] == 0.0:
            break
        rank_f = rank_f + 1
        acc = 0.0
        for j in range(k):
            acc = acc + UF[j + q * k] * v[j]
        acc = acc / SF[q]
        for j in range(k):
            y[j] = y[j] + VTF[q + j * k] * acc
    for j in range(k):
        acc = 0.0
        for l in range(k):
            acc = acc + N[j * k + l] * y[l]
        a[j] = acc
    # back to unscaled coordinates: gradient a_k b_k / h, Laplacian 2 a_k / h^2
    for j in range(k):
        for t_out in range(n_out):
            acc = lap_coef[t_out] * 2.0 * a[j] / (h * h)
            for q in range(d):
                acc = acc + grad_coef[t_out * d + q] * a[j] * Bs[j * d + q] / h
            out[j * n_out + t_out] = acc
    t = SB[d - 1] / SB[0]
    diag[1] = SB[d - 1]
    diag[2] = SF[r - 1] / SF[0] if r <= k else 0.0
    if diag[2] < t:
        t = diag[2]
    diag[0] = t
    diag[3] = rank_b + rank_f
    return 0


def moment_stencils(
        const double[:, ::1] points,        # IN  (n_points, D)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,) centre index of each stencil
        const double[:, :, ::1] bases,      # IN  (n_points, d, D) local axes, or (0, d, D) = identity
        const double[:, ::1] grad_coef,     # IN  (n_out, d) first-derivative part of each target
        const double[::1] lap_coef,         # IN  (n_out,) Laplacian part of each target
        double rcond,
        double[:, :, ::1] weights,          # OUT (m, k, n_out)
        double[:, ::1] diagnostics,         # OUT (m, 4)
        int[::1] status,                    # OUT (m,) LAPACK info per stencil (-100: h = 0)
        int n_threads):
    cdef Py_ssize_t m = neighbors.shape[0], i, c
    cdef int k = <int>neighbors.shape[1]
    cdef int d = <int>grad_coef.shape[1], n_out = <int>grad_coef.shape[0]
    cdef bint use_basis = bases.shape[0] > 0
    cdef int lwork = 16 * k + 64
    cdef int nfit = 4 * k * d + d + 5 * k * k + 4 * k + lwork
    cdef int nscratch = nfit + k * d + 3
    cdef double* scratch
    cdef double* coords
    cdef double* off  # per-thread (C arrays declared here would be shared by threads)
    with nogil, parallel(num_threads=n_threads):
        scratch = <double*> malloc(nscratch * sizeof(double))
        coords = scratch + nfit
        off = coords + k * d
        for i in prange(m, schedule='static'):
            if scratch == NULL:                 # out of memory: the wrapper raises
                status[i] = -200
                continue
            c = centers[i]
            gather_local(points, neighbors, bases, use_basis, i, c, d, off, coords, NULL)
            status[i] = _moment_fit(coords, k, d, n_out, &grad_coef[0, 0], &lap_coef[0], rcond,
                                    scratch, lwork, &weights[i, 0, 0], &diagnostics[i, 0])
        free(scratch)
