# Eigen-decomposition of the small symmetric matrices of the frame kernel (a 3 x 3
# covariance per point), written out instead of called from LAPACK: dsyev's general
# path (tridiagonal reduction, dlamch, QL iteration) costs about 1.2 us on a 3 x 3 matrix,
# Jacobi rotations about a fifth of that, which halved the frames kernel (4e5 points,
# 2 threads: 0.47 -> 0.26-0.32 s; 1e6: 1.14 -> 0.63 s).
#
# Storage: column-major, element (i, j) of an n x n matrix at a[i + j * n].
from libc.math cimport sqrt, fabs, isfinite

#: cyclic Jacobi sweeps before giving up (quadratic convergence: 5-8 suffice)
cdef enum:
    JACOBI_MAX_SWEEPS = 60


cdef inline int symmetric_eigen(double* a, int n, double* w, double* v) noexcept nogil:
    """Eigenvalues of the symmetric ``a`` (full storage, destroyed) into ``w`` ascending,
    by cyclic Jacobi rotations; with ``v`` not NULL, the eigenvectors as its columns.
    Eigenvalues come out with absolute error about eps * ||a||, as LAPACK's dsyev.
    Returns 0, or 1 when the input is not finite or the sweeps did not converge."""
    cdef int p, q, k, sweep, m
    cdef double off, total, apq, theta, t, c, s, x, y
    if v != NULL:
        for k in range(n * n):
            v[k] = 0.0
        for k in range(n):
            v[k + k * n] = 1.0
    total = 0.0
    for k in range(n * n):
        total = total + a[k] * a[k]
    if not isfinite(total):
        return 1
    for sweep in range(JACOBI_MAX_SWEEPS + 1):
        off = 0.0
        for q in range(1, n):
            for p in range(q):
                off = off + a[p + q * n] * a[p + q * n]
        if off <= 1e-30 * total:
            break
        if sweep == JACOBI_MAX_SWEEPS:
            return 1
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = a[p + q * n]
                if apq == 0.0:
                    continue
                # the rotation that zeroes a[p, q] (Golub & Van Loan, symmetric Schur)
                theta = (a[q + q * n] - a[p + p * n]) / (2.0 * apq)
                if fabs(theta) > 1e150:
                    t = 0.5 / theta
                else:
                    t = 1.0 / (fabs(theta) + sqrt(theta * theta + 1.0))
                    if theta < 0.0:
                        t = -t
                c = 1.0 / sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):            # columns p, q
                    x = a[k + p * n]
                    y = a[k + q * n]
                    a[k + p * n] = c * x - s * y
                    a[k + q * n] = s * x + c * y
                for k in range(n):            # rows p, q
                    x = a[p + k * n]
                    y = a[q + k * n]
                    a[p + k * n] = c * x - s * y
                    a[q + k * n] = s * x + c * y
                if v != NULL:
                    for k in range(n):
                        x = v[k + p * n]
                        y = v[k + q * n]
                        v[k + p * n] = c * x - s * y
                        v[k + q * n] = s * x + c * y
    for k in range(n):
        w[k] = a[k + k * n]
    for p in range(1, n):                     # insertion sort, vectors alongside
        m = p
        while m > 0 and w[m - 1] > w[m]:
            x = w[m]
            w[m] = w[m - 1]
            w[m - 1] = x
            if v != NULL:
                for k in range(n):
                    x = v[k + m * n]
                    v[k + m * n] = v[k + (m - 1) * n]
                    v[k + (m - 1) * n] = x
            m = m - 1
    return 0
