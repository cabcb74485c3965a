"""Products of the parts' rows with blocks of vectors that stay on the workers.

A part owns some rows of ``K`` (or the mass ``B``); their columns are its own points and a
few of its neighbours' (the halo). A block of vectors is kept as one ``(owned rows, c)``
array per part, in the order of the part's ``owned_ids``. To multiply, each part receives
only the halo rows it needs from the parts that own them (:func:`halo_plans` says which),
so no ``n``-row array passes through the client.

The plans are made once per spectrum from the parts' index lists, which the client
gathers (8 bytes per point per list).
"""
from __future__ import annotations

import operator
import uuid
import warnings

import numpy as np


def halo_plans(owned, used_k, used_b):
    """Where each part's columns live.

    Parameters
    ----------
    owned : list of ndarray of int
        Per part, the input indices of its rows (disjoint, covering ``0 .. n-1``).
    used_k, used_b : list of ndarray of int
        Per part, the sorted input indices of the columns its rows of ``K`` / ``B`` use.

    Returns
    -------
    plans : list of dict
        Per part ``p``: ``size`` (columns used by either matrix), ``k_cols`` / ``b_cols``
        (each matrix's columns within those), ``sources`` (list of ``(q, sel)``: the
        positions among the used columns that part ``q`` owns).
    sends : dict
        ``(q, p) → rows``: the rows of part ``q``'s block that part ``p`` needs, in the
        order of ``p``'s ``sel`` for ``q``.
    """
    n = max(int(u.max()) + 1 for u in (*owned, *used_k, *used_b) if len(u))
    owner = np.full(n, -1, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    for p, rows in enumerate(owned):
        owner[rows] = p
        position[rows] = np.arange(len(rows))
    plans, sends = [], {}
    for p, (uk, ub) in enumerate(zip(used_k, used_b)):
        used = np.union1d(uk, ub)
        who = owner[used]
        if (who < 0).any():
            raise ValueError("the parts' rows do not cover every column they use")
        plan = {"size": len(used), "k_cols": np.searchsorted(used, uk),
                "b_cols": np.searchsorted(used, ub), "sources": []}
        for q in np.unique(who):
            sel = np.flatnonzero(who == q)
            plan["sources"].append((int(q), sel))
            sends[(int(q), p)] = position[used[sel]]
        plans.append(plan)
    return plans, sends


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
    c = block.shape[1]
    out = []
    for which, cols in (("K", plan["k_cols"]), ("B", plan["b_cols"])):
        full = np.zeros((plan["size"], c))
        full[cols] = op[which].T @ block
        out.append(full)
    return [(full_k[sel], full_b[sel]) for (_, sel), full_k, full_b in
            ((s, out[0], out[1]) for s in plan["sources"])]


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
    owned, used_k, used_b : list of ndarray
        As for :func:`halo_plans`.
    """

    def __init__(self, parts, owned, used_k, used_b):
        self.parts = parts
        self.sizes = [len(o) for o in owned]
        plans, sends = halo_plans(owned, used_k, used_b)
        self.sources = [[q for q, _ in plan["sources"]] for plan in plans]
        # the plans and the row lists travel to the workers once
        # unique names: equal data persisted by another spectrum must not share a key
        tag = uuid.uuid4().hex
        with warnings.catch_warnings():   # the plans travel once: 4–5 ints per point
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
            self._send_plans(plans, sends, tag)
        # for the transposed product: who sends what to part q, and where it lands
        self.receives = [[(p, sends[(q, p)]) for p in range(len(plans))
                          if (q, p) in sends] for q in range(len(plans))]
        self.symmetrise = set()

    def _send_plans(self, plans, sends, tag):
        import dask

        self.plans = list(dask.persist(*[dask.delayed(plan, name=f"plan-{p}-{tag}")
                                         for p, plan in enumerate(plans)]))
        self.sends = dict(zip(sends, dask.persist(*[
            dask.delayed(rows, name=f"send-{q}-{p}-{tag}") for (q, p), rows in sends.items()])))

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
