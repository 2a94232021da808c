"""The pair tables count every pair of early uses of one member, packed or summed as frames.

The reference is a pandas self-merge of a batch's early uses on the member (every ``i < j``
of two actions both used early), with the pair's activity codes recomputed without both
actions' events; :func:`tenure.hva.aggregate._pair_tables` must give the same cells, whether
its tables pack their keys (parts summed per use row) or sum frames of columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tenure.hva.aggregate import SUMS, _Coding, _pair_tables, _Summed
from tenure.hva.uses import codes
from tenure.hva.within import WithinStratum

ACT_EDGES, D1_EDGES = (3.0, 6.0, 10.0), (2.0, 5.0)


def _coding(members: int, actions: int, rng: np.random.Generator) -> _Coding:
    """A coding of ``members`` landmark members in a few strata (no landmark needed)."""
    code = object.__new__(_Coding)
    code.sid = rng.integers(0, 100, members)
    code.act_edges, code.d1_edges = ACT_EDGES, D1_EDGES
    code.n_act, code.n_d1 = len(ACT_EDGES) + 1, len(D1_EDGES) + 1
    code.n_a = actions
    code.within = WithinStratum(rng.normal(size=members), (0.3, -0.02), (-0.1, 0.01))
    code.z = code.within.fixed + rng.normal(size=members)  # any member value: summed as it is
    return code


def _batch(
    members: int, actions: int, rng: np.random.Generator, code: _Coding
) -> tuple[dict, dict]:
    """Member columns and one batch of window uses (a member's actions in random order)."""
    base = {
        "d0": rng.integers(0, 15, members),
        "d1": rng.integers(0, 8, members),
        **{c: rng.integers(0, 2, members) for c in ("obs_h", "retained", "event")},
        "seg": rng.integers(0, 3, members),
        "t": rng.integers(0, 5, members),
    }
    rows = [
        (m, a)
        for m in range(members)
        for a in rng.permutation(actions)[: rng.integers(0, actions + 1)]
    ]
    rows += [rows[5]]  # one action used twice (two benefits): never a pair with itself
    m = np.array([r[0] for r in rows])
    n0 = np.minimum(rng.integers(0, 4, m.size), base["d0"][m])
    n1 = np.minimum(rng.integers(0, 3, m.size), base["d1"][m])
    da = codes(base["d0"][m] - n0, ACT_EDGES) - codes(base["d0"][m], ACT_EDGES)
    dd = codes(base["d1"][m] - n1, D1_EDGES) - codes(base["d1"][m], D1_EDGES)
    uses = {
        "m": m,
        "a": np.array([r[1] for r in rows]),
        "early": rng.integers(0, 2, m.size) | (m % 3 == 0),
        "n0": n0,
        "n1": n1,
        "da": da,
        "dd": dd,
        "z_a": code.within.index(m, base["d0"][m] - n0, base["d1"][m] - n1),
    }
    return base, uses


def _reference(base: dict, code: _Coding, uses: dict, names: list[str]) -> pd.DataFrame:
    early = pd.DataFrame(uses)[lambda f: f["early"] > 0]
    pairs = early.merge(early, on="m", suffixes=("_l", "_r"))
    pairs = pairs[pairs["a_l"] < pairs["a_r"]]
    m = pairs["m"].to_numpy()
    d0 = base["d0"][m] - pairs["n0_l"].to_numpy() - pairs["n0_r"].to_numpy()
    d1 = base["d1"][m] - pairs["n1_l"].to_numpy() - pairs["n1_r"].to_numpy()
    cols = {
        "i": pairs["a_l"],
        "j": pairs["a_r"],
        "sid": code.sid[m],
        "da_i": code.da(pairs["da_l"].to_numpy()),
        "dd_i": code.dd(pairs["dd_l"].to_numpy()),
        "da_j": code.da(pairs["da_r"].to_numpy()),
        "dd_j": code.dd(pairs["dd_r"].to_numpy()),
        "da_ij": code.da(codes(d0, ACT_EDGES) - codes(base["d0"][m], ACT_EDGES)),
        "dd_ij": code.dd(codes(d1, D1_EDGES) - codes(base["d1"][m], D1_EDGES)),
        **{c: base[c][m] for c in ("obs_h", "retained", "seg", "t", "event")},
    }
    sums = {
        "z": code.z[m],
        "z_i": pairs["z_a_l"].to_numpy(),
        "z_j": pairs["z_a_r"].to_numpy(),
        "z_ij": code.within.index(m, d0, d1),
    }
    frame = pd.DataFrame({c: np.asarray(cols[c]) for c in names})
    ref = frame.groupby(names).size().rename("n").reset_index()
    if "sid" in names:
        for c, v in sums.items():
            ref[c] = frame.assign(_v=v).groupby(names)["_v"].sum().to_numpy()
    return ref


@pytest.mark.parametrize("packed", [True, False], ids=["packed-keys", "frames"])
def test_pairs_match_a_self_merge(packed: bool) -> None:
    rng = np.random.default_rng(11)
    members, actions = 300, 6
    code = _coding(members, actions, rng)
    base, uses = _batch(members, actions, rng, code)
    shifts = {f"{k}_{s}": n for s in ("i", "j", "ij") for k, n in (("da", 4), ("dd", 3))}
    specs = {  # the pairs' keys are packed sparsely, the curve's counted densely
        "pairs": {"i": actions, "j": actions, "sid": 100, **shifts, "obs_h": 2, "retained": 2},
        "pairs_curve": {"i": actions, "j": actions, "seg": 3, "t": 5, "event": 2},
    }
    tables = tuple(_Summed(spans, SUMS.get(name, ())) for name, spans in specs.items())
    assert tables[0].dense is None and tables[1].dense is not None
    for table in tables:
        if not packed:
            table.packed, table.dense = False, None
    half = members // 2  # two batches of whole members, as the count tables read them
    for part in (uses["m"] < half, uses["m"] >= half):
        _pair_tables(base, code, {c: v[part] for c, v in uses.items()}, tables)
    for table, names in zip(tables, (list(s) for s in specs.values()), strict=True):
        cols, n, sums = table.columns()
        got = pd.DataFrame(cols).assign(n=n, **sums).sort_values(names, ignore_index=True)
        ref = _reference(base, code, uses, names)
        assert len(ref) > 100
        pd.testing.assert_frame_equal(got, ref, check_dtype=False)
