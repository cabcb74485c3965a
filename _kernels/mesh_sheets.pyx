# Which candidate neighbours are also near along a mesh (o3d_meshless.mesh_sheets).
# Candidate j of centre i is kept when i and j are joined by mesh edges through vertices
# among {i} and the row's candidates that lie within rho * |x_j - x_i| of x_i: a
# "bottleneck" test, found by adding the row's vertices in order of their distance to
# x_i and joining them (union-find) with the vertices already added. Points across a
# thin part or another sheet join only through vertices far from x_i, so they fail.
from cython.parallel cimport parallel, prange
from libc.stdlib cimport malloc, free
from libc.math cimport sqrt
from _types cimport intp_t


cdef inline int find_root(int* parent, int a) noexcept nogil:
    while parent[a] != a:
        parent[a] = parent[parent[a]]          # path halving
        a = parent[a]
    return a


def near_along_mesh(
        const double[:, ::1] points,          # IN  (n, 3)
        const intp_t[::1] adj_ptr,            # IN  (n + 1,) CSR rows of the edge graph
        const intp_t[::1] adj_idx,            # IN  (nnz,)  symmetric, no self loops
        const intp_t[::1] centers,            # IN  (m,)
        const intp_t[:, ::1] candidates,      # IN  (m, K), centre excluded, distinct
        double rho,                           # IN  >= 1
        unsigned char[:, ::1] out,            # OUT (m, K) 1: joined along the mesh
        int n_threads):
    cdef Py_ssize_t n = points.shape[0], m = centers.shape[0], r, s, e
    cdef int K = <int>candidates.shape[1], a, b, t, p, j, ra, rb
    cdef intp_t i, v, w
    cdef intp_t* slot
    cdef int* order
    cdef int* parent
    cdef unsigned char* added
    cdef double* rad
    cdef double d, x
    with nogil, parallel(num_threads=n_threads):
        slot = <intp_t*> malloc(n * sizeof(intp_t))
        order = <int*> malloc((K + 1) * sizeof(int))
        parent = <int*> malloc((K + 1) * sizeof(int))
        added = <unsigned char*> malloc((K + 1) * sizeof(unsigned char))
        rad = <double*> malloc((K + 1) * sizeof(double))
        if slot != NULL:
            for s in range(n):
                slot[s] = -1
        for r in prange(m, schedule='static'):
            if slot == NULL or order == NULL or parent == NULL or added == NULL \
                    or rad == NULL:
                for a in range(K):              # out of memory: the wrapper raises
                    out[r, a] = 2
                continue
            i = centers[r]
            # local vertex 0 is the centre, a = 1..K the candidates
            slot[i] = 0
            rad[0] = 0.0
            parent[0] = 0
            added[0] = 1
            for a in range(1, K + 1):
                v = candidates[r, a - 1]
                d = 0.0
                for t in range(3):
                    x = points[v, t] - points[i, t]
                    d = d + x * x
                rad[a] = sqrt(d)
                parent[a] = a
                added[a] = 0
                slot[v] = a
                b = a - 1                       # insertion sort by distance (K is small)
                while b >= 1 and rad[order[b - 1]] > rad[a]:
                    order[b] = order[b - 1]
                    b = b - 1
                order[b] = a
            p = 0
            for t in range(K):
                a = order[t]
                # candidates whose ball ends before this vertex: decided now
                while p < t and rho * rad[order[p]] < rad[a]:
                    j = order[p]
                    out[r, j - 1] = find_root(parent, j) == find_root(parent, 0)
                    p = p + 1
                added[a] = 1
                v = candidates[r, a - 1]
                for e in range(adj_ptr[v], adj_ptr[v + 1]):
                    w = adj_idx[e]
                    b = slot[w]
                    if b >= 0 and added[b]:
                        ra = find_root(parent, a)
                        rb = find_root(parent, b)
                        if ra != rb:
                            parent[ra] = rb
            while p < K:
                j = order[p]
                out[r, j - 1] = find_root(parent, j) == find_root(parent, 0)
                p = p + 1
            slot[i] = -1
            for a in range(K):
                slot[candidates[r, a]] = -1
        free(slot)
        free(order)
        free(parent)
        free(added)
        free(rad)
