# Discrete orthonormal-polynomial stencils (seed 002: Carley, "Moving least squares via
# orthogonal polynomials"), many stencils in parallel.
#
# Per stencil, in coordinates y = x / h scaled to unit radius (h = largest neighbour
# distance), candidate monomials y^alpha are taken in graded lexicographic order. Each
# candidate column v_j = s_j y_j^alpha (s_j = row scale, 1 for unit weights) is
# orthogonalised against the accepted columns by modified Gram-Schmidt, done twice; it is
# ACCEPTED when its residual keeps more than `rtol` of its norm, |r| > rtol |v|, and
# REJECTED otherwise (the point configuration cannot support it, e.g. x^3 on a 3-point
# grid line). Selection stops when the number of accepted monomials equals the number of
# points (X square). The accepted columns are the orthonormal polynomials P_i evaluated on
# the points; their monomial coefficients C are kept, so D^beta P_i(0) = beta! C[i, beta].
# Weights (paper eq. 5): v_j = s_j sum_i q_i(j) D^beta P_i(0) / h^|beta|.
#
# include_centre = 1: published variant, the centre (offset 0) is an ordinary
#   least-squares point and the candidates start at the constant.
# include_centre = 0: centre-interpolating variant, points are the neighbours only, data
#   are f_j - f_0 and the candidates start at degree 1 (no constant), as in the Taylor
#   method; the fit passes through the centre value.
#
# A target whose highest derivative degree exceeds the stencil's complete order (highest n
# such that every candidate of degree <= n was accepted) gets NaN weights.
# No validation here: o3d_meshless.stencils.orthopoly checks everything before calling.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, pow, NAN, INFINITY
from _gather cimport gather_local
from _types cimport intp_t


cdef inline int _basis(const double* y, const double* s, int N, int d, int ncand,
                       int nuse, const intp_t* expo, double rtol, double* Q, double* C, int* acc_idx,
                       double* v, double* coef, double* min_rel) noexcept nogil:
    """Orthonormal columns Q (n_acc, N) and coefficients C (n_acc, ncand) from the first
    `nuse` candidates. Returns n_acc."""
    cdef int c, j, q, i, it, n_acc = 0
    cdef double nv, nr, r, t, mr = INFINITY
    for c in range(nuse):
        if n_acc == N:
            break
        nv = 0.0
        for j in range(N):
            t = s[j]
            for q in range(d):
                t = t * pow(y[j * d + q], <double>expo[c * d + q])
            v[j] = t
            nv = nv + t * t
        nv = sqrt(nv)
        for q in range(ncand):
            coef[q] = 0.0
        coef[c] = 1.0
        for it in range(2):
            for i in range(n_acc):
                r = 0.0
                for j in range(N):
                    r = r + Q[i * N + j] * v[j]
                for j in range(N):
                    v[j] = v[j] - r * Q[i * N + j]
                for q in range(c):
                    coef[q] = coef[q] - r * C[i * ncand + q]
        nr = 0.0
        for j in range(N):
            nr = nr + v[j] * v[j]
        nr = sqrt(nr)
        if nv > 0.0 and nr > rtol * nv:
            for j in range(N):
                Q[n_acc * N + j] = v[j] / nr
            for q in range(ncand):
                C[n_acc * ncand + q] = coef[q] / nr
            acc_idx[n_acc] = c
            n_acc = n_acc + 1
            if nr / nv < mr:
                mr = nr / nv
    min_rel[0] = mr
    return n_acc


def orthopoly_basis(const double[:, ::1] y, const double[::1] s, const intp_t[:, ::1] exponents,
                    double rtol, double[:, ::1] Q, double[:, ::1] C, int[::1] accepted):
    """One point set: Q (N, N), C (N, ncand), accepted (N,) candidate indices; returns
    (number accepted, smallest relative residual of an accepted column)."""
    cdef int N = <int>y.shape[0], d = <int>y.shape[1], ncand = <int>exponents.shape[0]
    cdef double mr = 0.0
    cdef int n_acc
    cdef double* v = <double*> malloc((N + ncand + 1) * sizeof(double))
    if v == NULL:
        raise MemoryError("no memory for the orthogonal basis' work vector")
    with nogil:
        n_acc = _basis(&y[0, 0], &s[0], N, d, ncand, ncand, &exponents[0, 0], rtol, &Q[0, 0],
                       &C[0, 0], &accepted[0], v, v + N, &mr)
    free(v)
    return n_acc, mr


def orthopoly_stencils(
        const double[:, ::1] points,        # IN  (n_points, D)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k) neighbour indices (centre excluded)
        const Py_ssize_t[::1] centers,      # IN  (m,) centre index of each stencil
        const double[:, :, ::1] bases,      # IN  (n_points, d, D) local axes, or (0, d, D) = identity
        const intp_t[:, ::1] exponents,       # IN  (ncand, d) candidates, graded lex order
        const double[::1] fact,             # IN  (ncand,) alpha!
        const intp_t[::1] degree,             # IN  (ncand,)
        const double[:, ::1] combos,        # IN  (n_out, ncand) target coefficients
        const intp_t[::1] target_degree,      # IN  (n_out,) highest derivative degree per target
        int include_centre,
        int order,                          # candidates of degree <= order are used
                                            # diagnostics[:, 0] = 0 when a target is not representable
        double weight_power,
        double rtol,
        double[:, :, ::1] weights,          # OUT (m, k, n_out)
        double[::1] centre_weights,         # OUT (m * n_out,) centre weight per target
        double[:, ::1] diagnostics,         # OUT (m, 4) rcond, complete order, rejected mask, rank
        unsigned long long[::1] rejected,   # OUT (m,) bit c set = candidate c rejected
        int[::1] complete_order,            # OUT (m,)
        int[::1] status,                    # OUT (m,) 0 ok, -100 all neighbours at the centre
        int n_threads):
    cdef Py_ssize_t m = neighbors.shape[0], i, j, c
    cdef int k = <int>neighbors.shape[1], D = <int>points.shape[1]
    cdef int ncand = <int>exponents.shape[0], d = <int>exponents.shape[1]
    cdef int n_out = <int>combos.shape[0], a, N = k + include_centre, nuse = 0, maxdeg = 0
    cdef bint use_basis = bases.shape[0] > 0
    cdef int nscratch = N * d + N + N * N + N * ncand + N + ncand + N + D + k + 4
    cdef double* scratch
    cdef double* y
    cdef double* s
    cdef double* Q
    cdef double* C
    cdef double* v
    cdef double* coef
    cdef double* dist
    cdef double* off
    cdef double* dP
    cdef int* acc_idx
    cdef double acc, h, mr, t, wj
    cdef int n_acc, comp, p0, q, ii, t_out, ok
    cdef unsigned long long mask
    for q in range(ncand):
        if degree[q] <= order:
            nuse = q + 1
    for q in range(n_out):
        if target_degree[q] > maxdeg:
            maxdeg = target_degree[q]
    with nogil, parallel(num_threads=n_threads):
        # per-thread scratch (C arrays declared at function level are shared by threads)
        scratch = <double*> malloc(nscratch * sizeof(double))
        acc_idx = <int*> malloc((N + 1) * sizeof(int))
        y = scratch
        s = y + N * d
        Q = s + N
        C = Q + N * N
        v = C + N * ncand
        coef = v + N
        dP = coef + ncand
        off = dP + N
        dist = off + D
        for i in prange(m, schedule='static'):
            if scratch == NULL or acc_idx == NULL:  # out of memory: the wrapper raises
                status[i] = -200
                continue
            c = centers[i]
            p0 = include_centre
            if include_centre:
                for a in range(d):
                    y[a] = 0.0
            h = gather_local(points, neighbors, bases, use_basis, i, c, d, off, &y[p0 * d], dist)
            if h == 0.0:
                status[i] = -100
                for j in range(k):
                    for t_out in range(n_out):
                        weights[i, j, t_out] = NAN
                for t_out in range(n_out):
                    centre_weights[i * n_out + t_out] = NAN
                diagnostics[i, 0] = 0.0
                diagnostics[i, 1] = -1.0
                diagnostics[i, 2] = 0.0
                diagnostics[i, 3] = 0.0
                rejected[i] = 0
                complete_order[i] = -1
                continue
            status[i] = 0
            for j in range(N * d):
                y[j] = y[j] / h
            # row scales: (h_j / h)^-(1 + weight_power); the centre gets the largest
            acc = 0.0
            for j in range(k):
                if weight_power == -1.0 or dist[j] == 0.0:
                    t = 1.0
                else:
                    t = pow(dist[j] / h, -(1.0 + weight_power))
                s[p0 + j] = t
                if t > acc:
                    acc = t
            if include_centre:
                s[0] = acc
            n_acc = _basis(y, s, N, d, ncand, nuse, &exponents[0, 0], rtol, Q, C, acc_idx, v, coef,
                           &mr)
            # rejected candidates and complete order
            mask = 0
            for q in range(nuse):
                ok = 0
                for ii in range(n_acc):
                    if acc_idx[ii] == q:
                        ok = 1
                if not ok:
                    mask = mask | ((<unsigned long long>1) << q)
            rejected[i] = mask
            comp = order
            for q in range(nuse):
                if (mask >> q) & 1:
                    if degree[q] - 1 < comp:
                        comp = degree[q] - 1
            complete_order[i] = comp
            diagnostics[i, 0] = mr if comp >= maxdeg else 0.0
            diagnostics[i, 1] = comp
            diagnostics[i, 2] = <double>mask   # exact: at most 35 candidate bits
            diagnostics[i, 3] = n_acc
            for t_out in range(n_out):
                if target_degree[t_out] > comp:
                    for j in range(k):
                        weights[i, j, t_out] = NAN
                    centre_weights[i * n_out + t_out] = NAN
                    continue
                # dP[ii] = target applied to P_ii at 0, in unscaled coordinates
                for ii in range(n_acc):
                    acc = 0.0
                    for q in range(ncand):
                        if combos[t_out, q] != 0.0:
                            acc = acc + combos[t_out, q] * C[ii * ncand + q] * fact[q] \
                                / pow(h, <double>degree[q])
                    dP[ii] = acc
                for j in range(N):
                    acc = 0.0
                    for ii in range(n_acc):
                        acc = acc + Q[ii * N + j] * dP[ii]
                    wj = s[j] * acc
                    if include_centre and j == 0:
                        centre_weights[i * n_out + t_out] = wj
                    else:
                        weights[i, j - p0, t_out] = wj
                if not include_centre:
                    acc = 0.0
                    for j in range(k):
                        acc = acc + weights[i, j, t_out]
                    centre_weights[i * n_out + t_out] = -acc
        free(acc_idx)
        free(scratch)
