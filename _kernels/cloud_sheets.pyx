# Which neighbours of a point lie on another sheet of the surface
# (o3d_meshless.cloud_sheets, whose docstring gives the three steps and the numbers).
# Where two sheets pass closer than a neighbourhood's radius the k nearest neighbours of
# a point hold both; their heights above the centre's tangent plane then form two
# groups, and the group away from the centre stays off the surface fitted to the
# centre's own group at every distance, which a curved single sheet does not.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, fabs, INFINITY
from _small_dense cimport symmetric_eigen
from _types cimport intp_t
from _height_fit cimport _cross3, _fit, _residuals

#: the candidate planes pass through the centre, one of its PAIR_NEIGHBOURS nearest
#: neighbours and any other (where a second sheet crowds the centre's own, its nearest
#: few may hold only one or two of its own sheet)
cdef int PAIR_NEIGHBOURS = 4
#: a single neighbour off the own sheet counts when this many times further off than two
cdef double LONE_FACTOR = 2.0
#: the own cluster's surface is a quadric from this many points on (a plane below)
cdef int QUADRIC_OWN = 10


cdef inline double _dot3(const double* a, const double* b) noexcept nogil:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


cdef inline void _edge(const double[:, ::1] points, intp_t i, intp_t j,
                       double* out) noexcept nogil:
    out[0] = points[j, 0] - points[i, 0]
    out[1] = points[j, 1] - points[i, 1]
    out[2] = points[j, 2] - points[i, 2]


cdef inline double _sorted_heights(const double[:, ::1] points,
                                   const intp_t[:, ::1] neighbors, Py_ssize_t r, intp_t i,
                                   int k, const double* normal, double* hs,
                                   int* order) noexcept nogil:
    # heights of row r's neighbours above the plane through the centre (hs[k] = 0, the
    # centre) and their ascending order; returns the widest jump
    cdef int j, t
    cdef double e[3]
    cdef double gap = 0.0
    for j in range(k):
        _edge(points, i, neighbors[r, j], e)
        hs[j] = _dot3(e, normal)
    hs[k] = 0.0
    for j in range(k + 1):                    # insertion sort (k is tens at most)
        t = j - 1
        while t >= 0 and hs[order[t]] > hs[j]:
            order[t + 1] = order[t]
            t = t - 1
        order[t + 1] = j
    for j in range(1, k + 1):
        if hs[order[j]] - hs[order[j - 1]] > gap:
            gap = hs[order[j]] - hs[order[j - 1]]
    return gap


cdef inline void _group_scatter(const double[:, ::1] points, const intp_t[:, ::1] neighbors,
                                Py_ssize_t r, intp_t i, int k, const int* order, int start,
                                int stop, double* mu, double* off, double* C) noexcept nogil:
    # adds the scatter matrix of the points at sorted positions start..stop-1 about
    # their own mean to C (position value k is the centre)
    cdef int j, a, q
    cdef intp_t v
    if stop <= start:
        return
    for a in range(3):
        mu[a] = 0.0
    for j in range(start, stop):
        v = i if order[j] == k else neighbors[r, order[j]]
        for a in range(3):
            mu[a] = mu[a] + points[v, a]
    for a in range(3):
        mu[a] = mu[a] / (stop - start)
    for j in range(start, stop):
        v = i if order[j] == k else neighbors[r, order[j]]
        for a in range(3):
            off[a] = points[v, a] - mu[a]
        for a in range(3):
            for q in range(3):
                C[a * 3 + q] = C[a * 3 + q] + off[a] * off[q]


cdef inline void _group_scatter_rows(const double[:, ::1] points,
                                     const intp_t[:, ::1] neighbors, Py_ssize_t r,
                                     intp_t i, int k, double* mu, double* off,
                                     double* C) noexcept nogil:
    # adds the scatter matrix of the centre and row r's first k neighbours about their
    # mean to C
    cdef int j, a, q
    cdef intp_t v
    for a in range(3):
        mu[a] = points[i, a]
    for j in range(k):
        for a in range(3):
            mu[a] = mu[a] + points[neighbors[r, j], a]
    for a in range(3):
        mu[a] = mu[a] / (k + 1)
    for j in range(k + 1):
        v = i if j == k else neighbors[r, j]
        for a in range(3):
            off[a] = points[v, a] - mu[a]
        for a in range(3):
            for q in range(3):
                C[a * 3 + q] = C[a * 3 + q] + off[a] * off[q]


def other_sheet(
        const double[:, ::1] points,        # IN  (n, 3)
        const intp_t[:, ::1] neighbors,     # IN  (m, k) neighbour indices (centre excluded)
        const intp_t[::1] centers,          # IN  (m,) the rows' centres
        int scale_k,                        # IN  the gap scales with the RMS radius of
                                            #     the nearest scale_k neighbours
        double gap_factor,                  # IN  > 0
        double spread_factor,               # IN  >= 0
        int min_own,                        # IN  >= 1
        unsigned char[:, ::1] out,          # OUT (m, k) 1: on another sheet than the centre,
                                            #     3: the same with few on the centre's
        int n_threads):
    cdef Py_ssize_t m = centers.shape[0], r
    cdef int k = <int>neighbors.shape[1], j, a, b, q, lo, hi, pos, t, info, own, split, p
    cdef int m_pairs = PAIR_NEIGHBOURS if PAIR_NEIGHBOURS < k else k
    cdef int n_scale = scale_k if 0 < scale_k < k else k
    cdef intp_t i
    cdef double* scr
    cdef double* hs
    cdef int* order
    cdef double* C
    cdef double* ev
    cdef double* work
    cdef double* mu
    cdef double* off
    cdef double* ea
    cdef double* eb
    cdef double* cand
    cdef double* nrm
    cdef double* u
    cdef double* v
    cdef double* wt
    cdef double* res
    cdef double* G
    cdef double* c
    cdef double* basis
    cdef double* t1
    cdef double* t2
    cdef double rr, x, gap, mean, ss, spread, hn, best
    cdef unsigned char mark
    with nogil, parallel(num_threads=n_threads):
        scr = <double*> malloc((5 * (k + 1) + 9 + 3 + 9 + 3 + 3 + 12 + 54) * sizeof(double))
        order = <int*> malloc((k + 1) * sizeof(int))
        hs = scr
        C = hs + k + 1
        ev = C + 9
        work = ev + 3
        mu = work + 9
        off = mu + 3
        ea = off + 3
        eb = ea + 3
        cand = eb + 3
        nrm = cand + 3
        u = nrm + 3
        v = u + k + 1
        wt = v + k + 1
        res = wt + k + 1
        G = res + k + 1
        c = G + 36
        basis = c + 6
        t1 = basis + 6
        t2 = t1 + 3
        for r in prange(m, schedule='static'):
            if scr == NULL or order == NULL:
                for j in range(k):               # out of memory: the wrapper raises
                    out[r, j] = 2
                continue
            for j in range(k):
                out[r, j] = 0
            i = centers[r]
            # quick look: a neighbourhood lying within a slab gap_factor radii thick
            # about its PCA plane holds one sheet (most rows of most clouds: 8 s -> under
            # 1 s for a million points)
            for a in range(9):
                C[a] = 0.0
            _group_scatter_rows(points, neighbors, r, i, n_scale, mu, off, C)
            info = symmetric_eigen(C, 3, ev, work)
            if info == 0:
                hn = 0.0
                x = 0.0
                rr = 0.0
                for j in range(k):
                    _edge(points, i, neighbors[r, j], ea)
                    ss = _dot3(ea, work)
                    if ss > hn:
                        hn = ss
                    if ss < x:
                        x = ss
                    if j < n_scale:
                        rr = rr + _dot3(ea, ea) - ss * ss
                if hn - x <= gap_factor * sqrt(rr / n_scale):
                    continue
            # the centre's tangent plane, from the nearest scale_k neighbours (a wider
            # search refilling a row must find the row's plane). Candidates: the planes
            # through the centre, one of its nearest few neighbours and another. Chosen:
            # the one along whose normal the heights bunch tightest, the widest jump left out (range - widest jump), so that a
            # second parallel sheet counts as bunched too, even when it holds most of
            # the neighbours. PCA of the whole neighbourhood tilts when the second sheet
            # is as far as the neighbourhood is wide (concentric spheres: up to 80 deg)
            best = INFINITY
            for a in range(m_pairs):
                for b in range(a + 1, n_scale):
                    _edge(points, i, neighbors[r, a], ea)
                    _edge(points, i, neighbors[r, b], eb)
                    _cross3(ea, eb, cand)
                    x = sqrt(_dot3(cand, cand))
                    if not x > 0.1 * sqrt(_dot3(ea, ea) * _dot3(eb, eb)):
                        continue                 # nearly collinear: no plane
                    for q in range(3):
                        cand[q] = cand[q] / x
                    gap = _sorted_heights(points, neighbors, r, i, n_scale, cand, hs, order)
                    x = hs[order[n_scale]] - hs[order[0]] - gap
                    if x < best:
                        best = x
                        for q in range(3):
                            nrm[q] = cand[q]
            if best == INFINITY:
                continue                         # no plane found: no split
            # refined: PCA of the heights' two groups each about its own mean (split at
            # the widest jump when it is wide), whose common normal is the sheets'
            gap = _sorted_heights(points, neighbors, r, i, n_scale, nrm, hs, order)
            rr = 0.0
            for j in range(n_scale):
                _edge(points, i, neighbors[r, j], ea)
                rr = rr + _dot3(ea, ea)
            split = n_scale + 1                  # first sorted position of the upper group
            if gap > gap_factor * sqrt(rr / n_scale):
                for j in range(n_scale):
                    if hs[order[j + 1]] - hs[order[j]] == gap:
                        split = j + 1
                        break
            for a in range(9):
                C[a] = 0.0
            _group_scatter(points, neighbors, r, i, n_scale, order, 0, split, mu, off, C)
            _group_scatter(points, neighbors, r, i, n_scale, order, split, n_scale + 1, mu,
                           off, C)
            info = symmetric_eigen(C, 3, ev, work)
            if info != 0 or not ev[1] > 1e-12 * ev[2]:
                continue                         # degenerate: no plane, no split
            # heights above the refined plane through the centre; the tangential RMS
            # radius of the nearest scale_k sets the gap (a wider search must not widen it)
            for q in range(3):
                nrm[q] = work[q]
            _sorted_heights(points, neighbors, r, i, k, nrm, hs, order)
            pos = 0                              # the centre's place (a plain assignment:
            for j in range(k + 1):               # prange makes it private to the thread)
                if order[j] == k:
                    pos = j
            rr = 0.0
            for j in range(n_scale):
                _edge(points, i, neighbors[r, j], ea)
                rr = rr + _dot3(ea, ea) - hs[j] * hs[j]
            rr = sqrt(rr / n_scale)
            if not rr > 0:
                continue
            # the centre's cluster: grow both ways while the steps stay below the gap
            gap = gap_factor * rr
            lo = pos
            while lo > 0 and hs[order[lo]] - hs[order[lo - 1]] <= gap:
                lo = lo - 1
            hi = pos
            while hi < k and hs[order[hi + 1]] - hs[order[hi]] <= gap:
                hi = hi + 1
            own = hi - lo + 1
            if own == k + 1:
                continue
            # a small own cluster: the centre may be the odd one out (an outlier, judged
            # by the outlier test) or on a sheet with few points in view: marked 3, for
            # the caller to look again over more neighbours
            mark = 1 if own >= min_own else 3
            # residuals from the own cluster's fitted surface (a plane; a quadric from
            # QUADRIC_OWN points on): a curved sheet's far neighbours follow it, a second
            # sheet stays off it at every distance
            p = 6 if own >= QUADRIC_OWN else 3
            for a in range(3):
                t1[a] = work[6 + a]
            _cross3(nrm, t1, t2)
            for j in range(k):
                _edge(points, i, neighbors[r, j], ea)
                u[j] = _dot3(ea, t1) / rr
                v[j] = _dot3(ea, t2) / rr
                wt[j] = 0.0
            u[k] = 0.0
            v[k] = 0.0
            wt[k] = 0.0
            for j in range(lo, hi + 1):
                wt[order[j]] = 1.0
            ss = 0.0
            if own >= p + 2 and _fit(u, v, hs, wt, k + 1, p, G, c, basis) == 0:
                _residuals(u, v, hs, k + 1, p, c, basis, res)
                for j in range(lo, hi + 1):
                    ss = ss + res[order[j]] * res[order[j]]
                spread = spread_factor * sqrt(ss / (own - p))
            else:
                mean = 0.0
                for j in range(lo, hi + 1):
                    mean = mean + hs[order[j]]
                mean = mean / own
                for j in range(k + 1):
                    res[j] = hs[j] - mean
                for j in range(lo, hi + 1):
                    ss = ss + res[order[j]] * res[order[j]]
                spread = spread_factor * sqrt(ss / own)
            if spread < gap:
                spread = gap
            # a lone point off the fit is a sheet's edge only when far off (else a
            # spike, or an outlier for the outlier test)
            t = 0
            for j in range(k):
                if wt[j] == 0.0 and fabs(res[j]) > spread:
                    t = t + 1
                    x = fabs(res[j])
            if t >= 2 or (t == 1 and x > LONE_FACTOR * spread):
                for j in range(k):
                    if wt[j] == 0.0 and fabs(res[j]) > spread:
                        out[r, j] = mark
        free(scr)
        free(order)
