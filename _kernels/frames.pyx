# Tangent frames: PCA normal per neighbourhood, then a Taylor height-function fit
# over the PCA tangent plane whose slope corrects the normal (PCA alone is only
# first-order accurate on curved surfaces).
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, fabs
from _small_dense cimport symmetric_eigen
from _local_least_squares cimport taylor_fit, taylor_scratch_size
from _types cimport intp_t


cdef inline void normalize3(double* v) noexcept nogil:
    cdef double s = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if s > 0:
        v[0] /= s
        v[1] /= s
        v[2] /= s


cdef inline void cross3(const double* a, const double* b, double* out) noexcept nogil:
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]


def pca_height_frames(
        const double[:, ::1] points,        # IN  (n, 3)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,) the point each row is about
        const intp_t[:, ::1] exponents,       # IN  (p, 2) height-fit monomials (p == 0: PCA only)
        const double[::1] inv_fact,         # IN  (p,)
        const intp_t[::1] degree,             # IN  (p,)
        double[:, :, ::1] frames,           # OUT (m, 3, 3) rows (t_u, t_v, n)
        double[::1] planarity,              # OUT (m,) lambda_mid / lambda_max of the covariance
        double[::1] flatness,               # OUT (m,) lambda_min / lambda_mid (0: flat patch)
        int[::1] status,                    # OUT (m,) 0 ok, 1 degenerate covariance, -2 eigen-solve failed (not finite), -3 no memory
        int n_threads):
    cdef Py_ssize_t m = centers.shape[0], i, r, j, nb
    cdef int k = <int>neighbors.shape[1], p = <int>exponents.shape[0]
    cdef int a, b, info
    cdef int nscr = (taylor_scratch_size(k, p, 2) if p > 0 else 0) + 3 * k + 2 * k + k + 2 * k + 9 + 3 + 64 + 15
    cdef double combos[2 * 64]
    cdef double* scr
    cdef double* coords
    cdef double* dist
    cdef double* h
    cdef double* w
    cdef double* C
    cdef double* ev
    cdef double* work
    cdef double* mu  # per-thread 3-vectors carved from the scratch buffer
    cdef double* t1
    cdef double* t2
    cdef double* nn
    cdef double* off
    cdef double ga, gb, s
    for a in range(2 * 64):
        combos[a] = 0.0
    if p > 0:
        combos[0] = 1.0          # d/du  (first degree-1 monomial)
        combos[p + 1] = 1.0      # d/dv
    with nogil, parallel(num_threads=n_threads):
        scr = <double*> malloc(nscr * sizeof(double))
        coords = scr + (taylor_scratch_size(k, p, 2) if p > 0 else 0)
        dist = coords + 2 * k
        h = dist + k
        w = h + k
        C = w + 2 * k
        ev = C + 9
        work = ev + 3
        mu = work + 64
        t1 = mu + 3
        t2 = t1 + 3
        nn = t2 + 3
        off = nn + 3
        for r in prange(m, schedule='static'):
            if scr == NULL:                     # out of memory: the wrapper raises
                status[r] = -3
                continue
            i = centers[r]
            # covariance about the neighbourhood mean (centre included)
            for a in range(3):
                mu[a] = points[i, a]
            for j in range(k):
                for a in range(3):
                    mu[a] = mu[a] + points[neighbors[r, j], a]
            for a in range(3):
                mu[a] = mu[a] / (k + 1)
            for a in range(9):
                C[a] = 0.0
            for j in range(-1, k):
                nb = i if j < 0 else neighbors[r, j]
                for a in range(3):
                    off[a] = points[nb, a] - mu[a]
                for a in range(3):
                    for b in range(3):
                        C[a * 3 + b] = C[a * 3 + b] + off[a] * off[b]
            info = symmetric_eigen(C, 3, ev, work)
            if info != 0:
                status[r] = -2
                continue
            # ascending eigenvalues: column 0 = normal, column 2 = largest spread
            planarity[r] = ev[1] / ev[2] if ev[2] > 0 else 0.0
            flatness[r] = ev[0] / ev[1] if ev[1] > 0 else 1.0
            status[r] = 1 if ev[1] <= 1e-12 * ev[2] else 0
            for a in range(3):
                nn[a] = work[0 * 3 + a]
                t1[a] = work[2 * 3 + a]
            cross3(nn, t1, t2)
            if p > 0 and status[r] == 0:
                for j in range(k):
                    nb = neighbors[r, j]
                    s = 0.0
                    for a in range(3):
                        off[a] = points[nb, a] - points[i, a]
                        s = s + off[a] * off[a]
                    dist[j] = sqrt(s)
                    coords[2 * j] = off[0] * t1[0] + off[1] * t1[1] + off[2] * t1[2]
                    coords[2 * j + 1] = off[0] * t2[0] + off[1] * t2[1] + off[2] * t2[2]
                    h[j] = off[0] * nn[0] + off[1] * nn[1] + off[2] * nn[2]
                info = taylor_fit(coords, dist, k, 2, p, &exponents[0, 0], &inv_fact[0],
                                  &degree[0], combos, 2, -1.0, 1e-12, False, scr, w, ev, False)
                if info == 0:
                    ga = 0.0
                    gb = 0.0
                    for j in range(k):
                        ga = ga + w[2 * j] * h[j]
                        gb = gb + w[2 * j + 1] * h[j]
                    # graph h(u, v) has normal ∝ n - h_u t_u - h_v t_v
                    for a in range(3):
                        nn[a] = nn[a] - ga * t1[a] - gb * t2[a]
                    normalize3(nn)
                    s = t1[0] * nn[0] + t1[1] * nn[1] + t1[2] * nn[2]
                    for a in range(3):
                        t1[a] = t1[a] - s * nn[a]
                    normalize3(t1)
                    cross3(nn, t1, t2)
            for a in range(3):
                frames[r, 0, a] = t1[a]
                frames[r, 1, a] = t2[a]
                frames[r, 2, a] = nn[a]
        free(scr)
