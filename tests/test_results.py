"""The result protocol's base: one NaN policy, export by suffix, a short repr."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tenure.errors import SpecError
from tenure.results import Result, json_safe


@dataclass(frozen=True, repr=False)
class _Toy(Result):
    kind = "toy"
    effect: np.ndarray
    params: dict[str, Any] = field(default_factory=lambda: {"alpha": 0.05})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"effect": self.effect})


def test_nan_and_inf_become_null_and_numpy_becomes_python() -> None:
    doc = _Toy(np.array([0.5, np.nan, -np.inf])).to_dict()
    assert doc == {
        "kind": "toy",
        "params": {"alpha": 0.05},
        "rows": [{"effect": 0.5}, {"effect": None}, {"effect": None}],
    }
    json.dumps(doc, allow_nan=False)  # raises if any NaN survived


def test_json_safe_handles_timestamps_and_nested_values() -> None:
    ts = pd.Timestamp("2026-01-02T03:04:05Z")
    assert json_safe({"t": ts, "x": (np.int64(2), np.bool_(True)), "nat": pd.NaT}) == {
        "t": "2026-01-02T03:04:05+00:00",
        "x": [2, True],
        "nat": None,
    }


def test_export_by_suffix_and_refuses_other_suffixes(tmp_path: Path) -> None:
    toy = _Toy(np.array([1.0, 2.0]))
    assert pd.read_csv(toy.export(tmp_path / "t.csv"))["effect"].tolist() == [1.0, 2.0]
    assert pd.read_parquet(toy.export(tmp_path / "t.parquet"))["effect"].tolist() == [1.0, 2.0]
    with pytest.raises(SpecError, match=r"\.csv or \.parquet"):
        toy.export(tmp_path / "t.xlsx")


def test_repr_is_short_and_html_renders_settings() -> None:
    toy = _Toy(np.arange(1000.0))
    assert repr(toy) == "<_Toy toy: 1000 rows; alpha=0.05>"
    assert "alpha=0.05" in toy._repr_html_() and toy._repr_html_().count("<tr>") == 50
