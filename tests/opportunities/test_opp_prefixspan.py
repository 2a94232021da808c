"""PrefixSpan with time constraints against two independent references.

1. A brute-force enumerator: every index combination of every episode, checked against the
   gap and span limits by hand (no projection, no pruning).
2. The `prefixspan` package from PyPI (Pei et al.'s algorithm as a user would install it),
   on databases without time limits where one episode is one member.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from prefixspan import PrefixSpan  # type: ignore[import-untyped]

from tenure.opportunities.prefixspan import prefixspan
from tenure.opportunities.sequences import Episodes

EXIT = 3
SYMBOLS = ("a", "b", "c", "<exit>")


def _db(seqs: list[list[int]], times: list[list[float]], members: list[int]) -> Episodes:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    start = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    ep = np.repeat(np.arange(len(seqs)), lengths).astype(np.int64)
    n = int(lengths.sum())
    return Episodes(
        ep=ep,
        start=start,
        length=lengths,
        member=np.repeat(np.array(members, dtype=np.int64), lengths),
        sym=np.array([x for s in seqs for x in s], dtype=np.int64),
        t=np.array([x for s in times for x in s], dtype=np.float64),
        duration=np.full(n, np.nan),
        exit_kind=np.zeros(n, dtype=np.int64),
        symbols=SYMBOLS,
        members=tuple(f"m{i}" for i in range(max(members) + 1)),
        exit_code=EXIT,
        roles=(None, None, None, "exit"),
    )


def _brute(
    seqs: list[list[int]],
    times: list[list[float]],
    members: list[int],
    *,
    max_len: int,
    max_gap: float,
    max_span: float,
) -> dict[tuple[int, ...], int]:
    found: dict[tuple[int, ...], set[int]] = {}
    for s, t, m in zip(seqs, times, members, strict=True):
        for k in range(2, max_len + 1):
            for idx in itertools.combinations(range(len(s)), k):
                pat = tuple(s[i] for i in idx)
                if pat[0] == EXIT or pat[-1] == EXIT:
                    continue
                if any(a == b == EXIT for a, b in itertools.pairwise(pat)):
                    continue
                if t[idx[-1]] - t[idx[0]] > max_span:
                    continue
                if any(t[j] - t[i] > max_gap for i, j in itertools.pairwise(idx)):
                    continue
                found.setdefault(pat, set()).add(m)
    return {p: len(v) for p, v in found.items()}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_matches_brute_force_with_gap_and_span_limits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    seqs, times, members = [], [], []
    for e in range(60):
        n = int(rng.integers(1, 8))
        seqs.append(rng.integers(0, 4, n).tolist())
        times.append(np.cumsum(rng.exponential(30.0, n)).tolist())
        members.append(int(rng.integers(0, 25)) if e % 3 else e % 25)
    db = _db(seqs, times, members)
    got = {
        p.items: p.members
        for p in prefixspan(db, min_members=3, max_len=4, max_gap=45.0, max_span=100.0)
    }
    ref = _brute(seqs, times, members, max_len=4, max_gap=45.0, max_span=100.0)
    expected = {p: n for p, n in ref.items() if n >= 3}
    assert got == expected
    assert len(expected) > 10  # the check is not vacuous


def test_matches_the_prefixspan_package_without_time_limits() -> None:
    rng = np.random.default_rng(11)
    seqs = [rng.integers(0, 3, int(rng.integers(2, 7))).tolist() for _ in range(200)]
    times = [list(map(float, range(len(s)))) for s in seqs]
    db = _db(seqs, times, list(range(len(seqs))))
    got = {
        p.items: p.members
        for p in prefixspan(db, min_members=20, max_len=6, max_gap=1e9, max_span=1e9)
    }
    ref = {tuple(p): n for n, p in PrefixSpan(seqs).frequent(20) if 2 <= len(p) <= 6}
    assert got == ref
    assert len(ref) > 20


def test_support_counts_members_not_occurrences() -> None:
    # One member doing a → b five times is one member.
    seqs = [[0, 1]] * 5 + [[0, 1]]
    times = [[0.0, 1.0]] * 6
    db = _db(seqs, times, [0, 0, 0, 0, 0, 1])
    pats = {p.items: p.members for p in prefixspan(db, min_members=2)}
    assert pats == {(0, 1): 2}
    assert prefixspan(db, min_members=3) == []


def _greedy_counts(
    seqs: list[list[int]],
    times: list[list[float]],
    *,
    max_len: int,
    max_gap: float,
    max_span: float,
) -> dict[tuple[int, ...], int]:
    """Non-overlapping occurrences per pattern from *every* embedding (earliest end first)."""
    spans: dict[tuple[int, ...], list[tuple[int, int, int]]] = {}
    for e, (s, t) in enumerate(zip(seqs, times, strict=True)):
        for k in range(2, max_len + 1):
            for idx in itertools.combinations(range(len(s)), k):
                pat = tuple(s[i] for i in idx)
                if t[idx[-1]] - t[idx[0]] > max_span:
                    continue
                if any(t[j] - t[i] > max_gap for i, j in itertools.pairwise(idx)):
                    continue
                spans.setdefault(pat, []).append((e, idx[-1], idx[0]))
    out = {}
    for pat, rows in spans.items():
        count, prev = 0, (-1, -1)
        for e, last, first in sorted(rows):
            if e != prev[0] or first > prev[1]:
                count, prev = count + 1, (e, last)
        out[pat] = count
    return out


@pytest.mark.parametrize(("max_gap", "max_span"), [(45.0, 100.0), (1e9, 1e9)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pruned_embeddings_keep_every_occurrence_count(
    seed: int, max_gap: float, max_span: float
) -> None:
    from tenure.opportunities.sizing import occurrences

    rng = np.random.default_rng(seed)
    seqs = [rng.integers(0, 3, int(rng.integers(2, 9))).tolist() for _ in range(40)]
    times = [np.cumsum(rng.exponential(20.0, len(s))).tolist() for s in seqs]
    db = _db(seqs, times, list(range(len(seqs))))
    pats = prefixspan(db, min_members=2, max_len=4, max_gap=max_gap, max_span=max_span)
    ref = _greedy_counts(seqs, times, max_len=4, max_gap=max_gap, max_span=max_span)
    got = {p.items: int(occurrences(db, p).seconds.shape[0]) for p in pats}
    assert got == {p: ref[p] for p in got}
    assert len(got) > 10
