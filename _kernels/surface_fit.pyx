# Local surface fits that leave the centre out: how far each point lies off the surface
# its neighbours describe (outliers), and how closely the neighbours follow a smooth
# surface (noise). One PCA frame of the neighbours, one least-squares fit of their
# heights by a plane or a quadric, one refit without the neighbours whose residual is
# more than 3 robust standard deviations (a neighbouring outlier must not bend the fit).
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, fabs
from _small_dense cimport symmetric_eigen
from _height_fit cimport _cross3, _median_abs, _fit, _residuals


def quadric_offsets(
        const double[:, ::1] points,        # IN  (n, 3)
        const Py_ssize_t[:, ::1] neighbors, # IN  (n, k) neighbour indices (centre excluded)
        int n_terms,                        # IN  3: plane, 6: quadric
        double[::1] offset,                 # OUT (n,) centre's height above the fit
        double[::1] residual,               # OUT (n,) RMS residual of the kept neighbours
        double[::1] radius,                 # OUT (n,) RMS tangential distance of the neighbours
        int[::1] status,                    # OUT (n,) 0 ok, 1 degenerate fit, -3 no memory
        int n_threads):
    cdef Py_ssize_t n = points.shape[0], i, nb
    cdef int k = <int>neighbors.shape[1], p = n_terms
    cdef int j, q, a, info, kept
    cdef double* scr
    cdef double* u
    cdef double* v
    cdef double* h
    cdef double* wt
    cdef double* r
    cdef double* tmp
    cdef double* C
    cdef double* ev
    cdef double* work
    cdef double* G
    cdef double* c
    cdef double* basis
    cdef double* mu
    cdef double* nn
    cdef double* t1
    cdef double* t2
    cdef double* off
    cdef double rr, s, scale, ss
    with nogil, parallel(num_threads=n_threads):
        scr = <double*> malloc((6 * k + 9 + 3 + 64 + 36 + 6 + 6 + 15) * sizeof(double))
        u = scr
        v = u + k
        h = v + k
        wt = h + k
        r = wt + k
        tmp = r + k
        C = tmp + k
        ev = C + 9
        work = ev + 3
        G = work + 64
        c = G + 36
        basis = c + 6
        mu = basis + 6
        nn = mu + 3
        t1 = nn + 3
        t2 = t1 + 3
        off = t2 + 3
        for i in prange(n, schedule='static'):
            if scr == NULL:
                status[i] = -3
                continue
            status[i] = 0
            # PCA frame of the neighbours alone: an outlying centre must not tilt it
            for a in range(3):
                mu[a] = 0.0
            for j in range(k):
                for a in range(3):
                    mu[a] = mu[a] + points[neighbors[i, j], a]
            for a in range(3):
                mu[a] = mu[a] / k
            for a in range(9):
                C[a] = 0.0
            for j in range(k):
                nb = neighbors[i, j]
                for a in range(3):
                    off[a] = points[nb, a] - mu[a]
                for a in range(3):
                    for q in range(3):
                        C[a * 3 + q] = C[a * 3 + q] + off[a] * off[q]
            info = symmetric_eigen(C, 3, ev, work)
            if info != 0 or not ev[1] > 1e-12 * ev[2]:
                status[i] = 1
                offset[i] = 0.0
                residual[i] = 0.0
                radius[i] = 0.0
                continue
            for a in range(3):
                nn[a] = work[a]
                t1[a] = work[6 + a]
            _cross3(nn, t1, t2)
            # neighbours around the centre, tangential coordinates scaled to unit RMS
            rr = 0.0
            for j in range(k):
                nb = neighbors[i, j]
                for a in range(3):
                    off[a] = points[nb, a] - points[i, a]
                u[j] = off[0] * t1[0] + off[1] * t1[1] + off[2] * t1[2]
                v[j] = off[0] * t2[0] + off[1] * t2[1] + off[2] * t2[2]
                h[j] = off[0] * nn[0] + off[1] * nn[1] + off[2] * nn[2]
                rr = rr + u[j] * u[j] + v[j] * v[j]
                wt[j] = 1.0
            rr = sqrt(rr / k)
            radius[i] = rr
            if not rr > 0:
                status[i] = 1
                offset[i] = 0.0
                residual[i] = 0.0
                continue
            for j in range(k):
                u[j] = u[j] / rr
                v[j] = v[j] / rr
            info = _fit(u, v, h, wt, k, p, G, c, basis)
            if info == 0:
                _residuals(u, v, h, k, p, c, basis, r)
                scale = 1.4826 * _median_abs(r, k, tmp)
                kept = 0
                for j in range(k):
                    if fabs(r[j]) > 3.0 * scale + 1e-12 * rr:
                        wt[j] = 0.0
                    else:
                        kept = kept + 1
                if kept < k and kept >= p + 2:
                    info = _fit(u, v, h, wt, k, p, G, c, basis)
                    if info == 0:
                        _residuals(u, v, h, k, p, c, basis, r)
                else:
                    for j in range(k):
                        wt[j] = 1.0
                    kept = k
            if info != 0:
                status[i] = 1
                offset[i] = 0.0
                residual[i] = 0.0
                continue
            ss = 0.0
            for j in range(k):
                ss = ss + wt[j] * r[j] * r[j]
            residual[i] = sqrt(ss / (kept - p)) if kept > p else 0.0
            offset[i] = -c[0]          # the centre sits at height 0 above (u, v) = (0, 0)
        free(scr)
