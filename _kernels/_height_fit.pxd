# Small least-squares fits of heights over tangent-plane coordinates, shared by the
# kernels that fit a plane or a quadric to one neighbourhood at a time
# (surface_fit.pyx: outliers and noise; cloud_sheets.pyx: a centre's own sheet).
from libc.math cimport fabs, sqrt


cdef inline void _cross3(const double* a, const double* b, double* out) noexcept nogil:
    out[0] = a[1] * b[2] - a[2] * b[1]
    out[1] = a[2] * b[0] - a[0] * b[2]
    out[2] = a[0] * b[1] - a[1] * b[0]


cdef inline void _basis(double u, double v, int p, double* a) noexcept nogil:
    a[0] = 1.0
    a[1] = u
    a[2] = v
    if p == 6:
        a[3] = u * u
        a[4] = u * v
        a[5] = v * v


cdef inline double _median_abs(const double* r, int k, double* tmp) noexcept nogil:
    # insertion sort of |r| (k is a neighbourhood size: tens of entries)
    cdef int i, j
    cdef double x
    for i in range(k):
        x = fabs(r[i])
        j = i - 1
        while j >= 0 and tmp[j] > x:
            tmp[j + 1] = tmp[j]
            j = j - 1
        tmp[j + 1] = x
    if k % 2:
        return tmp[k // 2]
    return 0.5 * (tmp[k // 2 - 1] + tmp[k // 2])


cdef inline int _fit(const double* u, const double* v, const double* h, const double* wt,
                     int k, int p, double* G, double* c, double* a) noexcept nogil:
    # weighted least squares h ~ sum c_q a_q(u, v) by the normal equations (p <= 6)
    cdef int q, s, j
    for q in range(p * p):
        G[q] = 0.0
    for q in range(p):
        c[q] = 0.0
    for j in range(k):
        if wt[j] == 0.0:
            continue
        _basis(u[j], v[j], p, a)
        for q in range(p):
            c[q] = c[q] + wt[j] * a[q] * h[j]
            for s in range(q + 1):
                G[q * p + s] = G[q * p + s] + wt[j] * a[q] * a[s]
    return _cholesky_solve(G, p, c)


cdef inline int _cholesky_solve(double* G, int p, double* c) noexcept nogil:
    # G x = c in place for a symmetric positive definite G of order p <= 6 (column-major,
    # upper triangle used: element (s, q), s <= q, at G[q * p + s]); 0, or j + 1 when the
    # j-th pivot is not positive, as LAPACK's dpotrf/dpotrs, written out: for these
    # 3 x 3 and 6 x 6 systems the two LAPACK calls cost more than the arithmetic
    # (the surface-fit kernel on a million points, one thread: 2.03 -> 1.79 s)
    cdef int j, q, t
    cdef double d, x
    for j in range(p):
        d = G[j * p + j]
        for t in range(j):
            d = d - G[j * p + t] * G[j * p + t]
        if not d > 0.0:
            return j + 1
        d = sqrt(d)
        G[j * p + j] = d
        for q in range(j + 1, p):
            x = G[q * p + j]
            for t in range(j):
                x = x - G[j * p + t] * G[q * p + t]
            G[q * p + j] = x / d
    for j in range(p):                  # R^T y = c
        x = c[j]
        for t in range(j):
            x = x - G[j * p + t] * c[t]
        c[j] = x / G[j * p + j]
    for j in range(p - 1, -1, -1):      # R x = y
        x = c[j]
        for t in range(j + 1, p):
            x = x - G[t * p + j] * c[t]
        c[j] = x / G[j * p + j]
    return 0


cdef inline void _residuals(const double* u, const double* v, const double* h, int k,
                            int p, const double* c, double* a, double* r) noexcept nogil:
    # r_j = h_j - sum_q c_q a_q(u_j, v_j)
    cdef int j, q
    cdef double s
    for j in range(k):
        _basis(u[j], v[j], p, a)
        s = h[j]
        for q in range(p):
            s = s - c[q] * a[q]
        r[j] = s
