# Ghost-sample-point stencils (seed 003: Ying, Chu & Leung, CLS-GSP / LS-GSP).
#
# Per stencil, in coordinates divided by rbar (the mean distance of the neighbours from
# the centre, so that the shape parameter c rbar^2 is scale-free):
#   basis     CLS: psi_m(y) = phi(|y - g_m|) - phi(|g_m|),  P_j = monomials of degree 1..n
#             LS:  phi_m(y) = phi(|y - g_m|),               P_j = monomials of degree 0..n
#   rows      CLS: the k neighbours;  LS: the centre and the k neighbours
#   system    A = [[Psi, P], [Phat^T, 0]]   ((rows + l) x (G + l)),  Phat = P at the ghosts
#   weights   w = first `rows` entries of (A^T)^+ b,  b = [D psi_m(0); D P_j(0)]
# (A^T)^+ = U S^+ V^T from one SVD A = U S V^T, dropping singular values below
# rcond * sigma_max (the seed's rank tolerance). When A has full column rank by a margin
# (the Frobenius condition number ||R||_F ||R^-1||_F of its QR factor, an upper bound of
# kappa_2(A), below QR_MAX_CONDITION, far inside the 1/rcond that would truncate),
# nothing would be dropped and (A^T)^+ b = A R^-1 R^-T b: a Householder QR and a
# triangular inverse cost about a third of the SVD with vectors. (A minimum-norm solution
# through R, the seminormal equations, is as accurate as applying Q: Paige 1973, Bjorck
# 1996 sec. 2.5.) No validation here:
# o3d_meshless.stencils.gsp checks shapes, indices, ghosts and targets before calling.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, exp, fabs, isfinite, NAN
from scipy.linalg.cython_lapack cimport dgesvd, dgeqrf, dpotrf, dtrtri
from libc.string cimport memcpy
from _gather cimport gather_local
from _local_least_squares cimport monomial, _gram, _singular_values, _fail_no_bounds
from _types cimport intp_t


cdef inline void _rbf(int kind, double s, double* f) noexcept nogil:
    """f(s), f'(s), f''(s) of phi(r) = f(c r^2) at s = c r^2."""
    cdef double q, t
    if kind == 0:            # Gaussian exp(-s)
        t = exp(-s)
        f[0] = t
        f[1] = -t
        f[2] = t
    elif kind == 1:          # multiquadric sqrt(1 + s)
        q = sqrt(1.0 + s)
        f[0] = q
        f[1] = 0.5 / q
        f[2] = -0.25 / (q * q * q)
    elif kind == 2:          # inverse multiquadric 1 / sqrt(1 + s)
        q = sqrt(1.0 + s)
        f[0] = 1.0 / q
        f[1] = -0.5 / (q * q * q)
        f[2] = 0.75 / (q * q * q * q * q)
    else:                    # inverse quadratic 1 / (1 + s)
        t = 1.0 / (1.0 + s)
        f[0] = t
        f[1] = -t * t
        f[2] = 2.0 * t * t * t


cdef inline int _gsp_fail(double* out, double* centre_out, int k, int n_out, double* diag,
                          int info) noexcept nogil:
    cdef int o
    for o in range(n_out):
        centre_out[o] = NAN
    return _fail_no_bounds(out, k * n_out, diag, info)


cdef inline int gsp_scratch_size(int k, int d, int g, int l, int n_out) noexcept nogil:
    cdef int M = k + 1 + l, N = g + l
    cdef int mn = M if M < N else N
    cdef int mx = M if M > N else N
    cdef int lw = 4 * (3 * mn + mx if 3 * mn + mx > 5 * mn else 5 * mn) + 64 * (M + N)
    # A + S + U + VT + b + t + PtP + eig + coords(scaled) + ghosts(scaled) + Q t + work
    return M * N + mn + M * mn + mn * N + N + mn + l * l + l + (k + 1) * d + g * d + M + lw


#: the QR path is taken below this Frobenius condition number of A's QR factor R: it
#: bounds kappa_2(A) from above, which so stays far below the 1 / rcond = 1e10 at which
#: the SVD path would start dropping singular values
cdef double QR_MAX_CONDITION = 1e6
#: R comes from the Cholesky factor of A^T A (a third of a Householder QR's cost at
#: these sizes) below this condition number: the normal equations lose kappa^2 eps,
#: at most 1e-10 relative here (measured kappa on i.i.d. samples: median 50, max 420)
cdef double NORMAL_MAX_CONDITION = 1e3


cdef inline double _inverse_rcond(double* T, int N, int* info) noexcept nogil:
    """Invert the upper triangular ``T`` (N x N, column-major, zeros below) in place;
    returns ``1 / (||T||_F ||T^-1||_F)``, a lower bound of ``1 / kappa_2(T)`` within a
    factor ``N`` (0 with ``info != 0``: ``T`` is singular)."""
    cdef double norm = 0.0, norm_inv = 0.0
    cdef int i
    cdef char upper = b'U', nonunit = b'N'
    for i in range(N * N):
        norm = norm + T[i] * T[i]
    dtrtri(&upper, &nonunit, &N, T, &N, info)
    if info[0] != 0:
        return 0.0
    for i in range(N * N):
        norm_inv = norm_inv + T[i] * T[i]
    return 1.0 / sqrt(norm * norm_inv) if norm * norm_inv > 0 else 0.0


cdef inline double _phi_derivative(const intp_t* e, int d, const double* u, double c,
                                   const double* f) noexcept nogil:
    """D^e of phi(|x - g|) at x = 0 for |e| in {1, 2}; u = -g, f = (f, f', f'') at c|u|^2."""
    cdef int a, i = -1, j = -1, deg = 0
    for a in range(d):
        if e[a] == 2:
            i = a
            j = a
        elif e[a] == 1:
            if i < 0:
                i = a
            else:
                j = a
        deg = deg + <int>e[a]
    if deg == 1:
        return f[1] * 2.0 * c * u[i]
    if i == j:
        return f[2] * 4.0 * c * c * u[i] * u[i] + f[1] * 2.0 * c
    return f[2] * 4.0 * c * c * u[i] * u[j]


cdef inline int _gsp_fit(const double* coords, int k, int d, bint constrained,
                         const double* ghosts, int g, bint half_max, int kind, double shape,
                         const intp_t* pexpo, int l, const intp_t* dexpo, const double* dfact,
                         const intp_t* ddeg, int p, const double* combos, int n_out,
                         double rcond, double* scratch, double* out,
                         double* centre_out, double* diag) noexcept nogil:
    cdef int n = k if constrained else k + 1          # sample rows
    cdef int M = n + l, N = g + l
    cdef int mn = M if M < N else N
    cdef int mx = M if M > N else N
    cdef int lwork = 4 * (3 * mn + mx if 3 * mn + mx > 5 * mn else 5 * mn) + 64 * (M + N)
    cdef double* A = scratch                 # (M, N) column-major
    cdef double* S = A + M * N               # (mn,)
    cdef double* U = S + mn                  # (M, mn) column-major
    cdef double* VT = U + M * mn             # (mn, N) column-major
    cdef double* b = VT + mn * N             # (N,)
    cdef double* t = b + N                   # (mn,)
    cdef double* PtP = t + mn                # (l, l)
    cdef double* eig = PtP + l * l           # (l,)
    cdef double* y = eig + l                 # (n, d) scaled sample coordinates
    cdef double* gh = y + (k + 1) * d        # (g, d) scaled ghosts
    cdef double* v = gh + g * d              # (M,) Q [t; 0] on the QR path
    cdef double* work = v + M
    cdef double rbar = 0.0, h = 0.0, r2, acc, gs, s0, scale, coef
    cdef double f[3]
    cdef double u[3]
    cdef int i, j, m, a, q, o, r = 0, info = 0, row0 = 0 if constrained else 1
    cdef bint use_qr = False
    cdef double qr_rcond = 0.0
    cdef char jobs = b'S', jobn = b'N', upper = b'U', nonunit = b'N'
    for j in range(k):
        r2 = 0.0
        for a in range(d):
            r2 = r2 + coords[j * d + a] * coords[j * d + a]
        r2 = sqrt(r2)
        rbar = rbar + r2
        if r2 > h:
            h = r2
    rbar = rbar / k
    if rbar == 0.0:
        info = -100
    if info != 0:
        return _gsp_fail(out, centre_out, k, n_out, diag, info)
    # scaled samples (LS: the centre is row 0) and ghosts
    for a in range(d):
        y[a] = 0.0
    for j in range(k):
        for a in range(d):
            y[(j + row0) * d + a] = coords[j * d + a] / rbar
    gs = 0.5 * h / rbar if half_max else 1.0
    for m in range(g):
        for a in range(d):
            gh[m * d + a] = ghosts[m * d + a] * gs
    # A: sample rows, then the constraint rows Phat^T
    for m in range(g):
        s0 = 0.0
        for a in range(d):
            s0 = s0 + gh[m * d + a] * gh[m * d + a]
        _rbf(kind, shape * s0, f)
        s0 = f[0] if constrained else 0.0       # phi(|g_m|): the CLS shift through the centre
        for i in range(n):
            r2 = 0.0
            for a in range(d):
                acc = y[i * d + a] - gh[m * d + a]
                r2 = r2 + acc * acc
            _rbf(kind, shape * r2, f)
            A[m * M + i] = f[0] - s0
        for j in range(l):
            A[m * M + n + j] = monomial(&gh[m * d], &pexpo[j * d], d)
    for j in range(l):
        for i in range(n):
            A[(g + j) * M + i] = monomial(&y[i * d], &pexpo[j * d], d)
        for i in range(l):
            A[(g + j) * M + n + i] = 0.0
    # rcond of the polynomial block on the samples (the guard's rank test)
    for j in range(l):
        for i in range(j + 1):
            acc = 0.0
            for q in range(n):
                acc = acc + A[(g + j) * M + q] * A[(g + i) * M + q]
            PtP[j * l + i] = acc
    info = _singular_values(jobn, PtP, l, eig, work, lwork)
    if info != 0:
        return _gsp_fail(out, centre_out, k, n_out, diag, info)
    diag[0] = eig[0] / eig[l - 1] if eig[l - 1] > 0 else 0.0
    if N <= M:
        # R with R^T R = A^T A, then R^-1 in VT: from the Cholesky factor of the normal
        # equations when A is well conditioned, else from a Householder QR of a copy in U
        # (A stays for the SVD and the solve; tau in S)
        _gram(A, M, N, VT)
        for q in range(N):
            for i in range(q + 1, N):
                VT[q * N + i] = 0.0
        dpotrf(&upper, &N, VT, &N, &info)
        if info == 0:
            qr_rcond = _inverse_rcond(VT, N, &info)
        use_qr = info == 0 and qr_rcond * NORMAL_MAX_CONDITION > 1.0
        if not use_qr:
            memcpy(U, A, M * N * sizeof(double))
            dgeqrf(&M, &N, U, &M, S, work, &lwork, &info)
            if info == 0:
                for q in range(N):
                    for i in range(N):
                        VT[q * N + i] = U[q * M + i] if i <= q else 0.0
                qr_rcond = _inverse_rcond(VT, N, &info)
            use_qr = info == 0 and qr_rcond * QR_MAX_CONDITION > 1.0
        info = 0
    if use_qr:
        r = N
        diag[1] = qr_rcond
    else:
        dgesvd(&jobs, &jobs, &M, &N, A, &M, S, U, &M, VT, &mn, work, &lwork, &info)
        if info != 0:
            return _gsp_fail(out, centre_out, k, n_out, diag, info)
        for q in range(mn):
            if S[q] > rcond * S[0]:
                r = r + 1
        diag[1] = S[mn - 1] / S[0] if N <= M else 0.0
    diag[2] = NAN
    diag[3] = r
    for o in range(n_out):
        # right-hand side b = D(basis)(0), derivatives back in unscaled units
        for m in range(N):
            b[m] = 0.0
        for q in range(p):
            coef = combos[o * p + q]
            if coef == 0.0:
                continue
            scale = coef / (rbar if ddeg[q] == 1 else rbar * rbar)
            for m in range(g):
                s0 = 0.0
                for a in range(d):
                    u[a] = -gh[m * d + a]
                    s0 = s0 + u[a] * u[a]
                _rbf(kind, shape * s0, f)
                b[m] = b[m] + scale * _phi_derivative(&dexpo[q * d], d, u, shape, f)
            for j in range(l):
                for a in range(d):
                    if pexpo[j * d + a] != dexpo[q * d + a]:
                        break
                else:
                    b[g + j] = b[g + j] + scale * dfact[q]
        if use_qr:
            # w = A x with x = R^-1 R^-T b (R^-1 upper triangular in VT, column-major)
            for i in range(N):
                acc = 0.0
                for q in range(i + 1):
                    acc = acc + VT[i * N + q] * b[q]
                t[i] = acc
            for q in range(N):
                acc = 0.0
                for i in range(q, N):
                    acc = acc + VT[i * N + q] * t[i]
                b[q] = acc
            for i in range(n):
                acc = 0.0
                for m in range(N):
                    acc = acc + A[m * M + i] * b[m]
                v[i] = acc
        else:
            # w = U_r S_r^-1 V_r^T b
            for q in range(r):
                acc = 0.0
                for m in range(N):
                    acc = acc + VT[q + m * mn] * b[m]
                t[q] = acc / S[q]
            for i in range(n):
                acc = 0.0
                for q in range(r):
                    acc = acc + U[i + q * M] * t[q]
                v[i] = acc
        for i in range(n):             # the first n entries
            acc = v[i]
            if i < row0:
                centre_out[o] = acc
            else:
                out[(i - row0) * n_out + o] = acc
        if constrained:
            acc = 0.0
            for j in range(k):
                acc = acc - out[j * n_out + o]
            centre_out[o] = acc
        if _misses_polynomials(y + row0 * d, k, d, &out[o], n_out, rbar, pexpo, l,
                               constrained, dexpo, dfact, ddeg, p, &combos[o * p]):
            diag[0] = 0.0           # reported as a rank failure: the guard retries the row
    return 0


#: relative miss of the polynomial reproduction that makes a row a failure
cdef double REPRODUCTION_RTOL = 1e-6


cdef inline bint _misses_polynomials(const double* y, int k, int d, const double* w,
                                     int stride, double rbar, const intp_t* pexpo, int l,
                                     bint constrained, const intp_t* dexpo,
                                     const double* dfact, const intp_t* ddeg, int p,
                                     const double* combo) noexcept nogil:
    """The weights ``w[j * stride]`` of the k samples ``y`` (scaled by rbar) should
    reproduce the target's derivatives of every monomial of degree >= 1 exactly, by
    construction; a rank-deficient RBF block can leave that unmet while the polynomial
    block looks healthy. Compared in scaled units (weights times rbar^degree)."""
    cdef int i, j, q, a, deg = 0, first = 0 if constrained else 1
    cdef double wi, mono, got, size, exact, unit
    for q in range(p):
        if combo[q] != 0.0 and ddeg[q] > deg:
            deg = ddeg[q]
    unit = rbar if deg == 1 else rbar * rbar
    for i in range(k):
        if not isfinite(w[i * stride]):
            return True
    for j in range(first, l):           # LS-GSP's constant monomial is not checked
        exact = 0.0
        for q in range(p):
            if combo[q] == 0.0:
                continue
            for a in range(d):
                if pexpo[j * d + a] != dexpo[q * d + a]:
                    break
            else:
                exact = exact + combo[q] * dfact[q]
        got = 0.0
        size = fabs(exact)
        for i in range(k):
            wi = w[i * stride] * unit
            mono = monomial(&y[i * d], &pexpo[j * d], d)
            got = got + wi * mono
            size = size + fabs(wi * mono)
        if fabs(got - exact) > REPRODUCTION_RTOL * (size if size > 1.0 else 1.0):
            return True
    return False


def gsp_stencils(
        const double[:, ::1] points,        # IN  (n_points, D)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,) centre index of each stencil
        const double[:, :, ::1] bases,      # IN  (n_points, d, D) local axes, or (0, d, D) = identity
        const double[:, ::1] ghosts,        # IN  (G, d) ghost template (units of rbar or h/2)
        bint half_max,                      # IN  ghosts scaled by h/2 (else by rbar)
        int kind,                           # IN  0 GA, 1 MQ, 2 IMQ, 3 IQ
        double shape,                       # IN  c rbar^2
        const intp_t[:, ::1] pexpo,           # IN  (l, d) polynomial exponents
        const intp_t[:, ::1] dexpo,           # IN  (p, d) derivative exponents (degree 1..2)
        const double[::1] dfact,            # IN  (p,) alpha! of each derivative
        const intp_t[::1] ddeg,               # IN  (p,) degree of each derivative
        const double[:, ::1] combos,        # IN  (n_out, p) targets over the derivatives
        bint constrained,                   # IN  CLS-GSP (else LS-GSP)
        double rcond,
        double[:, :, ::1] weights,          # OUT (m, k, n_out) applied to f_j - f_0
        double[:, ::1] centre_weights,      # OUT (m, n_out)
        double[:, ::1] diagnostics,         # OUT (m, 4)
        int[::1] status,                    # OUT (m,) LAPACK info (-100: all neighbours at the centre)
        int n_threads):
    cdef Py_ssize_t m = neighbors.shape[0], i, c
    cdef int k = <int>neighbors.shape[1], d = <int>ghosts.shape[1], g = <int>ghosts.shape[0]
    cdef int l = <int>pexpo.shape[0], p = <int>dexpo.shape[0], n_out = <int>combos.shape[0]
    cdef bint use_basis = bases.shape[0] > 0
    cdef int nfit = gsp_scratch_size(k, d, g, l, n_out)
    cdef int nscratch = nfit + k * d + 3 + 8
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
            status[i] = _gsp_fit(coords, k, d, constrained, &ghosts[0, 0], g, half_max, kind,
                                 shape, &pexpo[0, 0], l, &dexpo[0, 0], &dfact[0], &ddeg[0], p,
                                 &combos[0, 0], n_out, rcond, scratch,
                                 &weights[i, 0, 0], &centre_weights[i, 0], &diagnostics[i, 0])
        free(scratch)
