# Lumped areas: the Voronoi cell of each point among its neighbours, measured in
# its own tangent plane (a meshless stand-in for the barycentric/Voronoi mass of a mesh).
# Neighbours are placed along their projected direction at their 3-D distance (a
# log-map-like chart): plain projection shortens distances by O(kappa^2 r^2) and
# under-estimates areas by about 1 % at 2000 points on the unit sphere. With `arc`, at
# the length of the circular arc through the neighbour tangent to the plane, which is
# the geodesic distance to second order (the chord is short by kappa^2 r^2 / 24).
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt, fabs, asin, sin, fmin


cdef inline int clip_halfplane(const double* poly, const int* label, int nv, double qx,
                               double qy, double c, int new_label, double* outp,
                               int* outl) noexcept nogil:
    """Keep the part of polygon `poly` (nv vertices, xy interleaved) where
    x*qx + y*qy <= c; with c = (qx^2 + qy^2) / 2: closer to the origin than to q.

    ``label[a]`` names the edge from vertex a to a+1 (the neighbour whose bisector made
    it, or -1 for the start square); the cut edge gets ``new_label``."""
    cdef int a, nout = 0
    cdef double ax, ay, bx, by, fa, fb, t
    for a in range(nv):
        ax = poly[2 * a]
        ay = poly[2 * a + 1]
        bx = poly[2 * ((a + 1) % nv)]
        by = poly[2 * ((a + 1) % nv) + 1]
        fa = ax * qx + ay * qy - c
        fb = bx * qx + by * qy - c
        if fa <= 0:
            outp[2 * nout] = ax
            outp[2 * nout + 1] = ay
            # the edge leaving a kept vertex is (what remains of) its old edge, unless the
            # vertex lies on the bisector and the edge leaves: then the bisector follows
            outl[nout] = new_label if (fa == 0 and fb > 0) else label[a]
            nout += 1
        if (fa < 0 and fb > 0) or (fa > 0 and fb < 0):
            t = fa / (fa - fb)
            outp[2 * nout] = ax + t * (bx - ax)
            outp[2 * nout + 1] = ay + t * (by - ay)
            # entering: the rest of edge a; leaving: along the new bisector
            outl[nout] = label[a] if fa > 0 else new_label
            nout += 1
    return nout


cdef inline int cut_cell(double** P, int** PL, double** Q, int** QL, int nv, double qx,
                         double qy, double c, int new_label) noexcept nogil:
    """Clip the cell ``*P`` (edge labels ``*PL``) by ``x*qx + y*qy <= c`` into the spare
    buffers ``*Q``/``*QL``, then swap them so ``*P``/``*PL`` hold the result."""
    cdef double* tmp
    cdef int* itmp
    nv = clip_halfplane(P[0], PL[0], nv, qx, qy, c, new_label, Q[0], QL[0])
    tmp = P[0]
    P[0] = Q[0]
    Q[0] = tmp
    itmp = PL[0]
    PL[0] = QL[0]
    QL[0] = itmp
    return nv


def tangent_voronoi_areas(
        const double[:, ::1] points,        # IN  (n, 3)
        const Py_ssize_t[:, ::1] neighbors, # IN  (m, k)
        const Py_ssize_t[::1] centers,      # IN  (m,)
        const double[:, :, ::1] frames,     # IN  (n, 3, 3) rows (t_u, t_v, n)
        double box,                         # IN  half-size of the start square / farthest neighbour
        double[::1] areas,                  # OUT (m,)
        int[::1] is_open,                   # OUT (m,) 1 if the cell reaches the start square
        double[:, ::1] dual_edges,          # OUT (m, k) or (0, 0): cell edge length shared with each neighbour
        const double[:, ::1] cuts,          # IN  (m, 2) or (0, 2): outward conormal (t_u, t_v) of
                                            #     boundary points (zero rows: interior); the cell
                                            #     is cut by the line through the point across it
        int n_threads,
        bint arc):                          # IN  place neighbours at arc length, not chord
    cdef Py_ssize_t m = neighbors.shape[0], i, j, nb, c
    cdef int k = <int>neighbors.shape[1], nv, a, cap = 2 * (k + 8)
    cdef double* buf
    cdef int* lbuf
    cdef int* PL
    cdef int* QL
    cdef bint want_edges = dual_edges.shape[0] > 0
    cdef bint have_cuts = cuts.shape[0] > 0
    cdef double* P
    cdef double* Q
    cdef double ox, oy, oz, u, v, w, R, area, s, rmax, elevation
    with nogil, parallel(num_threads=n_threads):
        buf = <double*> malloc(2 * cap * sizeof(double))
        lbuf = <int*> malloc(2 * cap * sizeof(int))
        for i in prange(m, schedule='static'):
            if buf == NULL or lbuf == NULL:
                areas[i] = -1.0            # the wrapper raises MemoryError
                continue
            c = centers[i]
            P = buf
            Q = buf + cap
            PL = lbuf
            QL = lbuf + cap
            PL[0] = -1
            PL[1] = -1
            PL[2] = -1
            PL[3] = -1
            # half-size of the starting square: `box` times the farthest neighbour (the
            # last one: k-NN lists are sorted), so interior cells are untouched and cells
            # on open boundaries stay bounded
            nb = neighbors[i, k - 1]
            ox = points[nb, 0] - points[c, 0]
            oy = points[nb, 1] - points[c, 1]
            oz = points[nb, 2] - points[c, 2]
            R = sqrt(ox * ox + oy * oy + oz * oz)
            R = box * R
            P[0] = -R
            P[1] = -R
            P[2] = R
            P[3] = -R
            P[4] = R
            P[5] = R
            P[6] = -R
            P[7] = R
            nv = 4
            if have_cuts and (cuts[i, 0] != 0 or cuts[i, 1] != 0):
                # open boundary through the point: nothing of the surface lies beyond it
                nv = cut_cell(&P, &PL, &Q, &QL, nv, cuts[i, 0], cuts[i, 1], 0.0, -1)
            for j in range(k):
                nb = neighbors[i, j]
                ox = points[nb, 0] - points[c, 0]
                oy = points[nb, 1] - points[c, 1]
                oz = points[nb, 2] - points[c, 2]
                u = ox * frames[c, 0, 0] + oy * frames[c, 0, 1] + oz * frames[c, 0, 2]
                v = ox * frames[c, 1, 0] + oy * frames[c, 1, 1] + oz * frames[c, 1, 2]
                if u * u + v * v <= 1e-24 * R * R or nv < 3 or nv + 2 > k + 8:
                    continue
                # the chord length, or with `arc` the length of the circular arc that
                # leaves the centre in its tangent plane and reaches the neighbour
                # (chord * alpha / sin(alpha), alpha the chord's elevation)
                s = sqrt((ox * ox + oy * oy + oz * oz) / (u * u + v * v))
                if arc:
                    w = ox * frames[c, 2, 0] + oy * frames[c, 2, 1] + oz * frames[c, 2, 2]
                    elevation = asin(fmin(fabs(w) / sqrt(ox * ox + oy * oy + oz * oz), 1.0))
                    if elevation > 1e-8:
                        s = s * elevation / sin(elevation)
                u = u * s
                v = v * s
                # neighbours come nearest first and (u, v) has the 3-D length, so once the
                # bisector lies beyond the polygon no later neighbour can cut it either
                rmax = 0.0
                for a in range(nv):
                    if P[2 * a] * P[2 * a] + P[2 * a + 1] * P[2 * a + 1] > rmax:
                        rmax = P[2 * a] * P[2 * a] + P[2 * a + 1] * P[2 * a + 1]
                if 0.25 * (u * u + v * v) >= rmax:
                    break
                nv = cut_cell(&P, &PL, &Q, &QL, nv, u, v, 0.5 * (u * u + v * v), <int>j)
            area = 0.0
            is_open[i] = 0
            for a in range(nv):
                if fabs(P[2 * a]) >= R * (1 - 1e-12) or fabs(P[2 * a + 1]) >= R * (1 - 1e-12):
                    is_open[i] = 1
                area = area + P[2 * a] * P[2 * ((a + 1) % nv) + 1] - P[2 * ((a + 1) % nv)] * P[2 * a + 1]
            areas[i] = 0.5 * fabs(area)
            if want_edges:
                for j in range(k):
                    dual_edges[i, j] = 0.0
                for a in range(nv):
                    if PL[a] >= 0:
                        ox = P[2 * ((a + 1) % nv)] - P[2 * a]
                        oy = P[2 * ((a + 1) % nv) + 1] - P[2 * a + 1]
                        dual_edges[i, PL[a]] += sqrt(ox * ox + oy * oy)
        free(buf)
        free(lbuf)
