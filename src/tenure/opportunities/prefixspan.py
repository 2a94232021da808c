r"""PrefixSpan with time constraints, vectorised over a flat episode database.

A pattern :math:`p = (s_1, \dots, s_k)` *occurs* in an episode at rows
:math:`r_1 < \dots < r_k` (gaps allowed: other steps may come between) when
:math:`\mathrm{sym}(r_j) = s_j`,

.. math::

    t(r_{j+1}) - t(r_j) \le \text{max\_gap} \quad\text{and}\quad
    t(r_k) - t(r_1) \le \text{max\_span}.

Its *support* is the number of distinct members with an occurrence, and it is frequent when
the support reaches ``min_members``. Support is anti-monotone (a member doing ``p + s`` does
``p``), so PrefixSpan (Pei et al., 2001) grows patterns depth first from frequent prefixes,
scanning only each prefix's *projected database*. Under a gap constraint the earliest match
of a prefix is not enough (a later one may be the one within ``max_gap`` of the next step),
so the projection keeps every end row of the prefix, with the latest start that reaches it:
among matches ending at the same row the latest start leaves the most span, so it dominates.

**Dominated embeddings are pruned.** An embedding :math:`A = (f_A, l_A)` *covers*
:math:`B = (f_B, l_B)` in the same episode when :math:`l_A < l_B`, :math:`f_A \ge f_B` and
:math:`A` can still reach every row :math:`B` can: with :math:`U = \min(t(l) +
\text{max\_gap}, t(f) + \text{max\_span})`, :math:`U_A \ge U_B`. Every extension of
:math:`B` to a row :math:`r` is then also one of :math:`A`, with a start at least as late,
so the latest-start rule above would discard :math:`B`'s anyway: dropping :math:`B` changes
no support and no later projection. It changes no occurrence count either: :math:`B`
contains :math:`A`, and the greedy earliest-end count (:mod:`~tenure.opportunities.sizing`)
takes :math:`A` first, after which :math:`B` overlaps it. Covering is transitive, so each
embedding is compared with the one before it (sorted by end row). A limit longer than the
episode cannot bind in it, so there covering is plain containment: on repetitive episodes
(``play → play → play``) that removes a large share of the embeddings.

One extension step is a handful of numpy operations over all embeddings at once: look ahead
``d = 1, 2, …`` rows while any embedding can still reach a row within the time limits, group
the reachable rows by symbol, count distinct members per symbol.

Patterns never start with ``<exit>`` (nothing was exported before it), and only patterns
ending on a real step are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tenure._types import FloatArray, IntArray
from tenure.opportunities.sequences import Episodes

__all__ = ["Pattern", "distinct", "prefixspan"]


@dataclass(frozen=True, slots=True)
class Pattern:
    """A frequent pattern: its symbols, member support, and every (start, end) row pair."""

    items: tuple[int, ...]
    members: int
    first: IntArray  # start row of each embedding
    last: IntArray  # end row of each embedding (unique)


def distinct(values: IntArray) -> IntArray:
    """Sorted distinct values by sorting: numpy 2's ``np.unique`` hashes, 50× slower here."""
    s = np.sort(values)
    out: IntArray = s[np.r_[True, s[1:] != s[:-1]]] if s.shape[0] else s
    return out


def _support(member: IntArray) -> int:
    return int(distinct(member).shape[0])


def _uncovered(
    first: IntArray,
    last: IntArray,
    ep: IntArray,
    t: FloatArray,
    gap: FloatArray,
    span: FloatArray,
) -> npt.NDArray[np.bool_]:
    """Embeddings (sorted by end row) not covered by the one before them (module doc).

    `gap` and `span` are the limits per episode, infinite where the episode is too short for
    the limit to bind.
    """
    keep = np.ones(first.shape[0], dtype=bool)
    if first.shape[0] < 2:
        return keep
    e = ep[last]
    same = np.flatnonzero(e[1:] == e[:-1])
    if same.shape[0] == 0:
        return keep
    a, b = same, same + 1
    fa, fb, la, lb = first[a], first[b], last[a], last[b]
    with np.errstate(invalid="ignore"):
        reach_a = np.minimum(t[la] + gap[e[a]], t[fa] + span[e[a]])
        reach_b = np.minimum(t[lb] + gap[e[b]], t[fb] + span[e[b]])
    keep[b] = ~((fa >= fb) & (reach_a >= reach_b))
    return keep


def prefixspan(
    db: Episodes,
    *,
    min_members: int,
    max_len: int = 5,
    max_gap: float = 3600.0,
    max_span: float = 7200.0,
    max_patterns: int = 20_000,
) -> list[Pattern]:
    """Every frequent pattern of length 2 to `max_len` ending on a real step.

    Parameters
    ----------
    db : Episodes
        From :func:`tenure.opportunities.sequences.episodes`.
    min_members : int
        Minimum number of distinct members with an occurrence.
    max_len : int
        Longest pattern, in steps (``<exit>`` counts as a step).
    max_gap, max_span : float
        Seconds allowed between consecutive steps, and from the first step to the last.
    max_patterns : int
        Safety cap on the number of patterns grown.

    Examples
    --------
    Two members each do ``a → b`` with one step between; a third does ``a`` only.

    >>> import numpy as np
    >>> from tenure.opportunities.sequences import Episodes
    >>> z = np.zeros(7, dtype=np.int64)
    >>> db = Episodes(ep=np.array([0, 0, 0, 1, 1, 1, 2]), start=np.array([0, 3, 6]),
    ...               length=np.array([3, 3, 1]), member=np.array([0, 0, 0, 1, 1, 1, 2]),
    ...               sym=np.array([0, 2, 1, 0, 2, 1, 0]), t=np.arange(7.0), duration=np.full(7, np.nan),
    ...               exit_kind=z, symbols=("a", "b", "c", "<exit>"), members=("m1", "m2", "m3"),
    ...               exit_code=3, roles=(None, None, None, "exit"))
    >>> sorted((tuple(db.symbols[i] for i in p.items), p.members) for p in prefixspan(db, min_members=2))
    [(('a', 'b'), 2), (('a', 'c'), 2), (('a', 'c', 'b'), 2), (('c', 'b'), 2)]
    """
    if db.n_rows == 0:
        return []
    ep_end = (db.start + db.length)[db.ep]
    # Limits that cannot bind inside an episode (it is shorter than them) are infinite there.
    duration = db.t[db.start + db.length - 1] - db.t[db.start]
    gap_of = np.where(duration <= max_gap, np.inf, max_gap)
    span_of = np.where(duration <= max_span, np.inf, max_span)
    n_members = int(db.member.max()) + 1
    n_symbols = len(db.symbols)
    out: list[Pattern] = []
    order = np.argsort(db.sym, kind="stable")
    bounds = np.searchsorted(db.sym[order], np.arange(len(db.symbols) + 1))
    stack: list[Pattern] = []
    for s in range(len(db.symbols)):
        if s == db.exit_code:
            continue
        rows = order[bounds[s] : bounds[s + 1]]
        if rows.shape[0] and _support(db.member[rows]) >= min_members:
            stack.append(Pattern((s,), _support(db.member[rows]), rows, rows))
    grown = 0
    while stack and grown < max_patterns:
        p = stack.pop()
        grown += 1
        if len(p.items) >= 2 and p.items[-1] != db.exit_code:
            out.append(p)
        if len(p.items) >= max_len:
            continue
        idx_parts: list[IntArray] = []
        nxt_parts: list[IntArray] = []
        alive = np.arange(p.last.shape[0])
        d = 1
        while alive.shape[0]:
            nxt = p.last[alive] + d
            inside = nxt < ep_end[p.last[alive]]
            alive, nxt = alive[inside], nxt[inside]
            t_next = db.t[nxt]
            span_ok = t_next - db.t[p.first[alive]] <= max_span
            alive, nxt, t_next = alive[span_ok], nxt[span_ok], t_next[span_ok]
            ok = t_next - db.t[p.last[alive]] <= max_gap
            idx_parts.append(alive[ok])
            nxt_parts.append(nxt[ok])
            d += 1
        if not idx_parts:
            continue
        idx = np.concatenate(idx_parts)
        nxt = np.concatenate(nxt_parts)
        if idx.shape[0] == 0:
            continue
        sym = db.sym[nxt]
        # Member support of every next symbol at once: distinct (symbol, member) pairs.
        pairs = distinct(sym * n_members + db.member[nxt])
        support = np.bincount(pairs // n_members, minlength=n_symbols)
        if p.items[-1] == db.exit_code:
            support[db.exit_code] = 0  # two exits in a row are one exit
        frequent = np.flatnonzero(support >= min_members)
        if frequent.shape[0] == 0:
            continue
        o = np.argsort(sym, kind="stable")
        sym, idx, nxt = sym[o], idx[o], nxt[o]
        lo = np.searchsorted(sym, frequent, side="left")
        hi = np.searchsorted(sym, frequent, side="right")
        for s, a, b in zip(frequent.tolist(), lo.tolist(), hi.tolist(), strict=True):
            g_nxt = nxt[a:b]
            first = p.first[idx[a:b]]
            # One embedding per end row, with the latest start (it dominates, see module doc).
            o2 = np.lexsort((-first, g_nxt))
            last_sorted, first_sorted = g_nxt[o2], first[o2]
            keep = np.r_[True, last_sorted[1:] != last_sorted[:-1]]
            f_k, l_k = first_sorted[keep], last_sorted[keep]
            keep = _uncovered(f_k, l_k, db.ep, db.t, gap_of, span_of)
            stack.append(Pattern((*p.items, s), int(support[s]), f_k[keep], l_k[keep]))
    return out
