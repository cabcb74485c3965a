# Shared nogil helpers for the stencil kernels: one centre-constrained Taylor
# least-squares solve (Turner et al.) with per-call scratch provided by the caller.
#
# Conventions
#   coords   (k, d) row-major local coordinates of the neighbours minus the centre
#   dist     (k,)   ambient distances |x_j - x_0| (> 0: coincident points are merged
#                   before any kernel runs)
#   expo     (p, d) exponents of the Taylor monomials, graded order, degree-1 first
#   combos   (n_out, p) linear combinations of derivatives to return
#   out      (k, n_out) weights w_j such that  sum_j w_j (f_j - f_0)  approximates
#            sum_q combos[o, q] * D^{alpha_q} f(x_0)
#   diag     (4,)  [sigma_min/sigma_max of the unit-scaled weighted design,
#                   sigma_min of seed 001's A (or W A), sigma_min of its A21, rank]
from libc.math cimport sqrt, pow, fabs, NAN
from scipy.linalg.cython_lapack cimport dgesvd, dgeqrf, dormqr, dsyev, dpotrf, dpotrs
from _types cimport intp_t

cdef inline int _u_rows(int k, int p, int n_out) noexcept nogil:
    # U holds a p x p copy of G, or p x n_out right-hand sides
    cdef int m = k if k > p else p
    return m if m > n_out else n_out


cdef inline int taylor_scratch_size(int k, int p, int n_out) noexcept nogil:
    # A(k*p) + S(p) + U(u_rows*p) + VT(p*p) + rowscale(k) + c(n_out*p) + lapack work + bounds
    return (k * p + p + _u_rows(k, p, n_out) * p + p * p + k + n_out * p + taylor_lwork(k, p)
            + 2 * k * p + 2 * p + 8)


cdef inline int taylor_lwork(int k, int p) noexcept nogil:
    cdef int mn = k if k < p else p
    cdef int mx = k if k > p else p
    cdef int a = 3 * mn + mx
    cdef int b = 5 * mn
    return 4 * (a if a > b else b) + 64 * (k + p)


cdef inline double monomial(const double* x, const intp_t* e, int d) noexcept nogil:
    cdef double v = 1.0
    cdef int a, t
    for a in range(d):
        for t in range(e[a]):
            v *= x[a]
    return v


cdef inline void _gram(const double* A, int k, int p, double* G) noexcept nogil:
    """Upper triangle of G = A^T A (column-major p x p) from column-major A (k x p)."""
    cdef int q, r, j
    cdef double acc
    for q in range(p):
        for r in range(q + 1):
            acc = 0.0
            for j in range(k):
                acc += A[q * k + j] * A[r * k + j]
            G[q * p + r] = acc


cdef inline int _singular_values(char jobz, double* G, int p, double* S, double* work,
                                 int lwork) noexcept nogil:
    """sigma_r = sqrt(eigenvalues of G = A^T A), ascending, into S (eigenvectors into G
    when jobz == 'V'); returns LAPACK info."""
    cdef char uplo = b'U'
    cdef int info = 0, r
    dsyev(&jobz, &uplo, &p, G, &p, S, work, &lwork, &info)
    if info == 0:
        for r in range(p):
            S[r] = sqrt(S[r]) if S[r] > 0 else 0.0
    return info


cdef inline int _fail(double* out, int n, double* diag, int info) noexcept nogil:
    cdef int j
    for j in range(n):
        out[j] = NAN
    diag[0] = 0.0
    diag[3] = 0.0
    return info


cdef inline int _fail_no_bounds(double* out, int n, double* diag, int info) noexcept nogil:
    """:func:`_fail` for kernels without seed 001's bounds: their diag[1:3] become NaN."""
    diag[1] = NAN
    diag[2] = NAN
    return _fail(out, n, diag, info)


cdef inline int taylor_fit(
        const double* coords, const double* dist, int k, int d, int p,
        const intp_t* expo, const double* inv_fact, const intp_t* degree,
        const double* combos, int n_out,
        double weight_power, double rcond, bint want_bounds,
        double* scratch, double* out, double* diag, bint need_rcond=True) noexcept nogil:
    """Weights of one stencil; returns LAPACK info (0 = ok)."""
    cdef int lwork = taylor_lwork(k, p)
    cdef double* A = scratch
    cdef double* S = A + k * p
    cdef double* U = S + p
    cdef double* VT = U + _u_rows(k, p, n_out) * p
    cdef double* rows = VT + p * p
    cdef double* c = rows + k
    cdef double* work = c + n_out * p
    cdef double* B = work + lwork          # bounds: copy of seed 001's A / A2
    cdef double* B1 = B + k * p            # bounds: A1 then Q^T A1
    cdef double* tau = B1 + k * p
    cdef double rho = 0.0, s, acc, dummy = 0.0
    cdef double x[3]
    cdef double scale[5]
    cdef int j, q, a, r, o, info = 0, rank = 0, one = 1, p2, m21, ld
    cdef char jobn = b'N', jobv = b'V', uplo = b'U', side = b'L', trans = b'T'

    for j in range(k):
        if dist[j] > rho:
            rho = dist[j]
    # unit-scaled, row-weighted design, column-major (LAPACK): rows (h/rho)^-(1+wp)
    for j in range(k):
        rows[j] = 1.0 if weight_power == -1.0 else pow(dist[j] / rho, -(1.0 + weight_power))
        for a in range(d):
            x[a] = coords[j * d + a] / rho
        for q in range(p):
            A[q * k + j] = rows[j] * inv_fact[q] * monomial(x, &expo[q * d], d)
    for q in range(5):
        scale[q] = pow(rho, -<double>q)        # derivative of degree q scales as rho^-q
    # Normal equations G = A^T A (p x p). A is unit-scaled (columns O(1)), so G's
    # conditioning is the square of A's, which the rank guard keeps below 1e12.
    # Fast path: eigenvalues only (for sigma_min/sigma_max) + a Cholesky solve; a
    # rank-deficient G takes the eigen-decomposition path with a truncated inverse.
    _gram(A, k, p, VT)
    if need_rcond:
        for j in range(p * p):
            U[j] = VT[j]
        info = _singular_values(jobn, U, p, S, work, lwork)
        if info != 0:
            return _fail(out, k * n_out, diag, info)
        for r in range(p):
            if S[r] > rcond * S[p - 1]:
                rank += 1
        diag[0] = S[0] / S[p - 1] if S[p - 1] > 0 else 0.0
    else:
        rank = p
        diag[0] = NAN
    diag[3] = rank
    info = 1
    if rank == p:
        dpotrf(&uplo, &p, VT, &p, &info)
    if info == 0:
        # y_o solves G y_o = (rho-scaled combos)_o; column-major p x n_out in U
        for o in range(n_out):
            for q in range(p):
                U[o * p + q] = combos[o * p + q] * scale[degree[q]]
        dpotrs(&uplo, &p, &n_out, VT, &p, U, &p, &info)
    if info != 0:
        _gram(A, k, p, VT)
        # column r of VT (column-major) becomes the eigenvector v_r of sigma_r^2
        info = _singular_values(jobv, VT, p, S, work, lwork)
        if info != 0:
            return _fail(out, k * n_out, diag, info)
        # y_o = V diag(1/S^2) V^T (rho-scaled combos), truncated below rcond
        for o in range(n_out):
            for r in range(p):
                acc = 0.0
                if S[r] > rcond * S[p - 1]:
                    for q in range(p):
                        if combos[o * p + q] != 0.0:
                            acc += combos[o * p + q] * scale[degree[q]] * VT[r * p + q]
                    acc /= S[r] * S[r]
                c[o * p + r] = acc
            for q in range(p):
                acc = 0.0
                for r in range(p):
                    acc += VT[r * p + q] * c[o * p + r]
                U[o * p + q] = acc
    # w_j = rows_j * (A_j . y_o)
    for j in range(k):
        for o in range(n_out):
            acc = 0.0
            for q in range(p):
                acc += A[q * k + j] * U[o * p + q]
            out[j * n_out + o] = rows[j] * acc

    if not want_bounds:
        diag[1] = NAN
        diag[2] = NAN
        return 0
    # Seed 001's A in real units: rows (v_j - a)^alpha / alpha! / h_j, times W = h_j^-wp.
    for j in range(k):
        s = pow(dist[j], -weight_power) / dist[j]
        for q in range(p):
            B[q * k + j] = s * inv_fact[q] * monomial(&coords[j * d], &expo[q * d], d)
    for j in range(k * p):
        B1[j] = B[j]                      # keep A; dgesvd destroys its input
    dgesvd(&jobn, &jobn, &k, &p, B1, &k, S, &dummy, &one, &dummy, &one, work, &lwork, &info)
    diag[1] = S[p - 1] if info == 0 else NAN
    # Bound2: Householder reduction of the non-gradient columns A2, A21 = Q2^T A1.
    p2 = p - d
    if p2 == 0:
        diag[2] = diag[1]
        return 0
    # B holds A column-major: A1 = first d columns, A2 = the rest (contiguous).
    dgeqrf(&k, &p2, &B[d * k], &k, tau, work, &lwork, &info)
    if info != 0:
        diag[2] = NAN
        return 0
    dormqr(&side, &trans, &k, &d, &p2, &B[d * k], &k, tau, B, &k, work, &lwork, &info)
    if info != 0:
        diag[2] = NAN
        return 0
    m21 = k - p2
    for a in range(d):                    # pack rows p2..k-1 of Q^T A1 into B1
        for j in range(m21):
            B1[a * m21 + j] = B[a * k + p2 + j]
    ld = m21
    dgesvd(&jobn, &jobn, &m21, &d, B1, &ld, S, &dummy, &one, &dummy, &one, work, &lwork, &info)
    diag[2] = S[d - 1] if (info == 0 and m21 >= d) else NAN
    return 0
