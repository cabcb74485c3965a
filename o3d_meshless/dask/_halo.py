"""Products of the parts' rows with blocks of vectors that stay on the workers.

A part owns some rows of ``K`` (or the mass ``B``); their columns are its own points and a
few of its neighbours' (the halo). A block of vectors is kept as one ``(owned rows, c)``
array per part, in the order of the part's ``owned_ids``. To multiply, each part receives
only the halo rows it needs from the parts that own them.

Where each column lives is found on the workers, once per spectrum: every part's used
column ids are looked up in the sorted ``owned_ids`` of each part whose box could hold
them (:func:`located`), and the part's plan (:func:`part_plan`) is assembled from those
answers. The client sees only counts per pair of parts.
"""
from __future__ import annotations

import operator

import numpy as np


def used_columns(op):
    """A part's columns of ``K`` and ``B`` together, sorted (input ids)."""
    return np.union1d(op["K_ids"], op["B_ids"])


def located(ids, op):
    """Which of ``ids`` the part ``op`` owns: ``(sel, rows)``, positions in ``ids`` and
    rows of the part's blocks (runs where that part is)."""
    owned = op["owned_ids"]
    pos = np.minimum(np.searchsorted(owned, ids), max(len(owned) - 1, 0))
    sel = np.flatnonzero(owned[pos] == ids) if len(owned) else np.zeros(0, np.intp)
    return sel, pos[sel]


def owned_count(op):
    return len(op["owned_ids"])


def part_plan(op, sources, *found):
    """A part's plan from the lookups in its candidate owners (``found``, aligned with
    ``sources``): ``size``, ``k_cols``, ``b_cols`` (each matrix's columns within the used
    ones) and ``sources`` (``(q, sel)`` for the parts that own some)."""
    used = used_columns(op)
    covered = np.zeros(len(used), dtype=np.int64)
    plan = {"size": len(used), "k_cols": np.searchsorted(used, op["K_ids"]),
            "b_cols": np.searchsorted(used, op["B_ids"]), "sources": []}
    for q, (sel, _) in zip(sources, found):
        if len(sel):
            plan["sources"].append((q, sel))
            covered[sel] += 1
    if (covered != 1).any():
        raise ValueError("the parts' rows do not cover every column they use exactly once")
    return plan


def take_rows(block, rows):
    """The rows of a part's block another part needs (runs where the block is)."""
    return np.ascontiguousarray(block[rows])


def _assembled(plan, pieces):
    c = pieces[0].shape[1]
    values = np.empty((plan["size"], c))
    for (_, sel), piece in zip(plan["sources"], pieces):
        values[sel] = piece
    return values


def rows_times(op, plan, *pieces):
    """``(K X, B X)`` on a part's own rows, from the pieces of ``X`` its columns need
    (in the order of ``plan["sources"]``)."""
    values = _assembled(plan, pieces)
    return op["K"] @ values[plan["k_cols"]], op["B"] @ values[plan["b_cols"]]


def columns_pieces(op, plan, block):
    """``(Kᵀ X, Bᵀ X)`` of a part's rows, cut into the pieces owned by each source part
    (the reverse of :func:`rows_times`; a part's columns are distinct)."""
    full_k, full_b = (np.zeros((plan["size"], block.shape[1])) for _ in range(2))
    full_k[plan["k_cols"]] = op["K"].T @ block
    full_b[plan["b_cols"]] = op["B"].T @ block
    return [(full_k[sel], full_b[sel]) for _, sel in plan["sources"]]


def summed_pieces(n_rows, positions, *pieces):
    """A part's rows of ``(Kᵀ X, Bᵀ X)``: the pieces every part sent it, added up."""
    c = pieces[0][0].shape[1]
    kt, bt = np.zeros((n_rows, c)), np.zeros((n_rows, c))
    for rows, (pk, pb) in zip(positions, pieces):
        kt[rows] += pk
        bt[rows] += pb
    return kt, bt


class HaloProducts:
    """``K X`` and ``B X`` (or their symmetric parts) for blocks kept on the workers.

    Parameters
    ----------
    parts : list of Delayed
        The persisted per-part rows (dicts with ``K``, ``B``, ``owned_ids``, ``K_ids``,
        ``B_ids``).
    candidates : list of list of int, optional
        Per part, the parts that may own some of its columns (those whose box meets its
        box grown by its halo); default: every part.
    """

    def __init__(self, parts, candidates=None):
        import dask

        self.parts = parts
        n = len(parts)
        candidates = [list(range(n)) for _ in range(n)] if candidates is None else \
            [sorted(set(c) | {p}) for p, c in enumerate(candidates)]
        used = [dask.delayed(used_columns)(op) for op in parts]
        found = {(q, p): dask.delayed(located, nout=2)(used[p], parts[q])
                 for p in range(n) for q in candidates[p]}
        plans = [dask.delayed(part_plan)(parts[p], candidates[p],
                                         *[found[(q, p)] for q in candidates[p]])
                 for p in range(n)]
        counts = [dask.delayed(len)(f[0]) for f in found.values()]
        sizes = [dask.delayed(owned_count)(op) for op in parts]
        # the plans and row lists stay on the workers; only counts come here
        kept = dask.persist(*plans, *[f[1] for f in found.values()])
        self.plans = list(kept[:n])
        rows = dict(zip(found, kept[n:]))
        got = dask.compute(*counts, *sizes)
        self.sizes = list(got[len(counts):])
        self.sends = {pair: rows[pair] for pair, c in zip(found, got[:len(counts)]) if c}
        self.sources = [[q for q in candidates[p] if (q, p) in self.sends] for p in range(n)]
        # for the transposed product: who sends what to part q, and where it lands
        self.receives = [[(p, self.sends[(q, p)]) for p in range(n) if (q, p) in self.sends]
                         for q in range(n)]
        self.symmetrise = set()

    def times(self, blocks):
        """Delayed ``(K X_p, B X_p)`` per part for per-part blocks ``X_p``; with
        :attr:`symmetrise` set, ``(A + Aᵀ)/2`` for the matrices named in it."""
        import dask

        out = []
        for p, (op, plan) in enumerate(zip(self.parts, self.plans)):
            pieces = [dask.delayed(take_rows)(blocks[q], self.sends[(q, p)])
                      for q in self.sources[p]]
            out.append(dask.delayed(rows_times, nout=2)(op, plan, *pieces))
        if not self.symmetrise:
            return out
        cuts = [dask.delayed(columns_pieces)(op, plan, block)
                for op, plan, block in zip(self.parts, self.plans, blocks)]
        sym = []
        for q, (kx, bx) in enumerate(out):
            got = [dask.delayed(operator.getitem)(cuts[p], self.sources[p].index(q))
                   for p, _ in self.receives[q]]
            kt, bt = dask.delayed(summed_pieces, nout=2)(
                self.sizes[q], [rows for _, rows in self.receives[q]], *got)
            kx = dask.delayed(_mean)(kx, kt) if "K" in self.symmetrise else kx
            bx = dask.delayed(_mean)(bx, bt) if "B" in self.symmetrise else bx
            sym.append((kx, bx))
        return sym


def _mean(a, b):
    return 0.5 * (a + b)
