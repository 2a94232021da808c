"""Engine metrics against a pandas reference computed row by row on the same small world."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from toy_world import AS_OF

from tenure.experiments.metrics import compute_metrics
from tenure.experiments.spec import ExperimentSpec
from tenure.store import connect


def _reference(folder: Path, spec: ExperimentSpec) -> pd.DataFrame:
    """Per-member values in pandas, then moments per variant (segment 'all')."""
    members = pd.read_parquet(folder / "members.parquet")
    events = pd.read_parquet(folder / "events.parquet")
    exp = pd.read_parquet(folder / "exposures.parquet")
    exp = exp[(exp.experiment == "toy") & (exp.placement == "home")]
    g = exp.groupby("member_id").agg(
        t0=("ts", "min"), variant=("variant", "min"), k=("variant", "nunique")
    )
    units = g[g.k == 1].reset_index().merge(members, on="member_id")
    ev = events.merge(units[["member_id", "t0"]], on="member_id")

    def window(action: str, lo: int, hi: int, what: str) -> pd.Series:
        e = ev[
            (ev.action == action)
            & (ev.ts >= ev.t0 + timedelta(days=lo))
            & (ev.ts < ev.t0 + timedelta(days=hi))
        ]
        v = (
            e.groupby("member_id")["value"].sum()
            if what == "value"
            else e.groupby("member_id").size()
        )
        return units.member_id.map(v).fillna(0.0).astype(float)

    ok7 = units.t0 + timedelta(days=7) <= AS_OF
    ok30 = units.t0 + timedelta(days=30) <= AS_OF
    orders = window("shipping.order", 0, 7, "count")
    values = {
        "orders_7d": (orders, ok7, window("shipping.order", -7, 0, "count"), None),
        "ordered_7d": ((orders > 0).astype(float), ok7, None, None),
        "saved_7d": (window("shipping.order", 0, 7, "value"), ok7, None, None),
        "saved_per_order": (window("shipping.order", 0, 7, "value"), ok7, None, orders),
        "orders_per_open": (orders, ok7, None, window("app.open", 0, 7, "count")),
        "retention_30": (
            (units.ended_at.isna() | (units.ended_at > units.t0 + timedelta(days=30))).astype(
                float
            ),
            ok30,
            None,
            None,
        ),
    }
    rows = []
    for name, (y, ok, x, d) in values.items():
        for v in ("control", "treatment"):
            sel = ok & (units.variant == v)
            row = {
                "metric": name,
                "variant": v,
                "n": sel.sum(),
                "sum": y[sel].sum(),
                "sum_squares": (y[sel] ** 2).sum(),
            }
            if x is not None:
                row |= {
                    "covariate_sum": x[sel].sum(),
                    "covariate_sum_squares": (x[sel] ** 2).sum(),
                    "main_covariate_sum_product": (y[sel] * x[sel]).sum(),
                }
            if d is not None:
                row |= {
                    "denominator_sum": d[sel].sum(),
                    "denominator_sum_squares": (d[sel] ** 2).sum(),
                    "main_denominator_sum_product": (y[sel] * d[sel]).sum(),
                }
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["metric", "variant"]).reset_index(drop=True)


@pytest.mark.parametrize("backend", ["duckdb", "polars"])
def test_metrics_match_pandas_reference(
    toy_world: Path, toy_spec: ExperimentSpec, backend: str
) -> None:
    mf = compute_metrics(connect(toy_world, as_of=AS_OF, backend=backend), toy_spec)  # type: ignore[arg-type]
    got = (
        mf.stats[mf.stats.segment == "all"]
        .sort_values(["metric", "variant"])
        .reset_index(drop=True)
    )
    ref = _reference(toy_world, toy_spec)
    assert got["metric"].tolist() == ref["metric"].tolist()
    for col in ref.columns[2:]:
        np.testing.assert_allclose(
            got[col].to_numpy(float),
            ref[col].to_numpy(float),
            rtol=1e-9,
            err_msg=col,
            equal_nan=True,
        )
    assert mf.multi_arm == 3


def test_segments_add_up_and_units(toy_world: Path, toy_spec: ExperimentSpec) -> None:
    mf = compute_metrics(connect(toy_world, as_of=AS_OF), toy_spec)
    s = mf.stats
    overall = s[s.segment == "all"].set_index(["metric", "variant"])[["n", "sum", "sum_squares"]]
    by_country = (
        s[s.segment.str.startswith("country=")]
        .groupby(["metric", "variant"])[["n", "sum", "sum_squares"]]
        .sum()
    )
    pd.testing.assert_frame_equal(
        overall.sort_index(), by_country.sort_index(), check_exact=False, rtol=1e-9
    )
    assert set(s.segment) == {"all", "country=US", "country=GB", "country=DE"}
    exposed = mf.units[mf.units.segment == "all"].set_index("variant")["exposed"]
    assert exposed.sum() == 3000 - 3  # three members logged in both arms are dropped
    assert list(s.columns[:7]) == [
        "experiment",
        "metric",
        "variant",
        "segment",
        "n",
        "sum",
        "sum_squares",
    ]
