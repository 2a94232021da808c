"""The warehouse path: analyse experiments from a CSV of sufficient statistics.

A warehouse query returns one row per experiment × metric × variant (× optional ``segment``)
with ``n, sum, sum_squares`` and, optionally, the CUPED covariate's
(``covariate_sum, covariate_sum_squares, main_covariate_sum_product``) or a ratio metric's
denominator's (``denominator_sum, denominator_sum_squares, main_denominator_sum_product``)
moments. :func:`read_sufficient_stats` validates the file row by row;
:func:`analyze_sufficient_stats` runs every comparison of every group in one vectorised pass
and returns a :class:`ComparisonTable`, the same table the engine produces from raw data.

The baseline of each (experiment, metric, segment) group is the variant named ``control``,
else the first one listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from tenure._types import FloatArray
from tenure.errors import DataContractError, SpecError
from tenure.results import Result, json_safe
from tenure.settings import Inference
from tenure.stats.bayesian import bayesian_test
from tenure.stats.frequentist import cuped_test, ratio_test, welch_test
from tenure.stats.moments import CrossMoments, Moments
from tenure.stats.multiple import benjamini_hochberg, holm
from tenure.stats.result import ComparisonResult
from tenure.stats.srm import srm_test
from tenure.store.csvfile import read_csv_text

__all__ = [
    "BASELINE_NAME",
    "RECORD_KEYS",
    "ComparisonTable",
    "analyze_sufficient_stats",
    "read_sufficient_stats",
]

BASELINE_NAME = "control"
KEYS = ["experiment", "metric", "segment", "variant"]
REQUIRED = ["experiment", "metric", "variant", "n", "sum", "sum_squares"]
COVARIATE = ["covariate_sum", "covariate_sum_squares", "main_covariate_sum_product"]
DENOMINATOR = ["denominator_sum", "denominator_sum_squares", "main_denominator_sum_product"]
NUMERIC = ["n", "sum", "sum_squares", *COVARIATE, *DENOMINATOR]
RECORD_KEYS = [
    "experiment",
    "metric",
    "segment",
    "variant",
    "baseline_mean",
    "variant_mean",
    "effect_abs",
    "ci_abs",
    "effect_rel",
    "ci_rel",
    "p_value",
    "p_value_adjusted",
    "chance_to_win",
    "expected_loss",
    "srm_p_value",
    "estimator",
    "status",
]
# A sum of squares may undershoot sum²/n by float round-off in the warehouse; allow that much.
RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True, repr=False)
class ComparisonTable(Result):
    """One row per variant-versus-baseline comparison, with every read-out.

    ``frame`` has the :data:`RECORD_KEYS` columns (intervals split into ``*_low``/``*_high``)
    plus ``se_abs``, ``se_rel``, ``p_value_rel``, ``risk_control``, ``n_baseline``,
    ``n_variant``; ``params`` the inference settings it was computed with.
    """

    kind: ClassVar[str] = "comparisons"
    frame: pd.DataFrame
    params: Mapping[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table (the result itself never changes)."""
        return self.frame.copy()

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-safe dicts with the :data:`RECORD_KEYS`, intervals as ``[low, high]``."""
        out = []
        for row in self.frame.to_dict("records"):
            rec = {k: row[k] for k in RECORD_KEYS if k not in ("ci_abs", "ci_rel")}
            rec["ci_abs"] = [row["ci_abs_low"], row["ci_abs_high"]]
            rec["ci_rel"] = [row["ci_rel_low"], row["ci_rel_high"]]
            out.append(json_safe({k: rec[k] for k in RECORD_KEYS}))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document: the settings and the comparisons."""
        return {
            "kind": self.kind,
            "params": json_safe(self.params),
            "comparisons": self.to_records(),
        }


def _fail(path: str, line: int, reason: str, column: str | None = None) -> DataContractError:
    return DataContractError(reason, file=path, line=line, column=column)


def read_sufficient_stats(path: str | Path) -> pd.DataFrame:
    """Read and validate a CSV of sufficient statistics.

    Parameters
    ----------
    path : str or Path
        CSV with a header row and the columns described in the module docstring.

    Returns
    -------
    pandas.DataFrame
        Columns ``experiment, metric, segment, variant`` (strings; ``segment`` is ``"all"``
        when the file has none), the numeric columns present (float), and ``line`` (the
        row's line number in the file).

    Raises
    ------
    DataContractError
        On the first bad row, naming the file, line and reason: a missing column,
        non-numeric or missing value, negative ``n``, a negative variance
        (``sum_squares - sum²/n`` below ``-1e-9 × sum_squares``), a partial set of CUPED or
        ratio columns, a duplicate key, or a group without a baseline to compare against.
    """
    name = str(path)
    # The store's CSV reader: UTF-8 checked, unterminated quotes and wrong field counts
    # refused, and each row numbered by the physical line where it starts (a quoted
    # newline or a blank line never shifts later line numbers).
    read = read_csv_text(Path(path), name)
    if read.malformed:
        line, reason, _ = read.malformed[0]
        raise _fail(name, line, reason)
    raw: pd.DataFrame = read.table.to_pandas().fillna("").apply(lambda c: c.str.strip())
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise _fail(name, 1, f"missing required column(s) {', '.join(missing)}")
    if raw.empty:
        raise _fail(name, 1, "has a header but no rows; nothing to analyse")
    raw["line"] = read.lines
    if "segment" not in raw.columns:
        raw["segment"] = "all"
    for c in ("experiment", "metric", "variant"):
        empty = raw[c].str.strip() == ""
        if empty.any():
            raise _fail(name, int(raw["line"][empty].iloc[0]), f"{c} is empty", c)
    raw.loc[raw["segment"].str.strip() == "", "segment"] = "all"

    out = raw[[*KEYS, "line"]].copy()
    for c in (c for c in NUMERIC if c in raw.columns):
        text = raw[c].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & (text != "")
        if bad.any():
            i = bad.to_numpy().argmax()
            raise _fail(name, int(raw["line"].iloc[i]), f"{c} {text.iloc[i]!r} is not a number", c)
        nonfinite = np.isinf(values)
        if nonfinite.any():
            i = nonfinite.to_numpy().argmax()
            raise _fail(name, int(raw["line"].iloc[i]), f"{c} is not finite", c)
        out[c] = values.astype(np.float64)
    _validate(out, name)
    return out.reset_index(drop=True)


def _validate(df: pd.DataFrame, name: str) -> None:
    """Row checks in file order, then group checks."""
    checks: list[tuple[npt.NDArray[np.bool_], str, str]] = [
        (df[c].isna().to_numpy(), f"{c} is missing", c) for c in ("n", "sum", "sum_squares")
    ]
    n = df["n"].to_numpy()
    checks.append((n < 0, "n is negative", "n"))
    checks.append((n != np.floor(n), "n is not a whole number", "n"))
    for part, cols in (("covariate", COVARIATE), ("denominator", DENOMINATOR)):
        present = [c for c in cols if c in df.columns]
        if not present:
            continue
        filled = np.stack([df[c].notna().to_numpy() for c in cols if c in df.columns], axis=1)
        complete = filled.all(axis=1) if len(present) == len(cols) else np.zeros(len(df), bool)
        partial = np.asarray(filled.any(axis=1) & ~complete, dtype=np.bool_)
        checks.append((partial, f"{part} columns must all be given or all be empty", part))

    def var_check(s: str, ss: str, label: str) -> None:
        if s not in df.columns:
            return
        sv, qv = df[s].to_numpy(), df[ss].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            centred = np.where(n > 0, qv - sv * sv / n, 0.0)
        negative = centred < -RELATIVE_TOLERANCE * np.maximum(np.abs(qv), 1.0)
        checks.append((negative, f"{label} variance is below zero ({ss} < {s}²/n)", ss))
        checks.append(((n == 0) & (np.nan_to_num(sv) != 0), f"{s} is non-zero with n = 0", s))

    var_check("sum", "sum_squares", "metric")
    var_check("covariate_sum", "covariate_sum_squares", "covariate")
    var_check("denominator_sum", "denominator_sum_squares", "denominator")

    bad_rows = [(m.argmax(), reason, col) for m, reason, col in checks if m.any()]
    if bad_rows:
        i, reason, col = min(bad_rows, key=lambda t: t[0])  # first bad line in the file
        raise _fail(name, int(df["line"].iloc[i]), reason, col)

    dup = df.duplicated(KEYS, keep="first").to_numpy()
    if dup.any():
        i = dup.argmax()
        key = ", ".join(f"{k}={df[k].iloc[i]!r}" for k in KEYS)
        raise _fail(name, int(df["line"].iloc[i]), f"duplicate row for {key}")
    size = df.groupby(KEYS[:3], sort=False)["variant"].transform("size").to_numpy()
    if (size < 2).any():
        i = (size < 2).argmax()
        raise _fail(
            name,
            int(df["line"].iloc[i]),
            f"group experiment={df['experiment'].iloc[i]!r}, metric={df['metric'].iloc[i]!r}, "
            f"segment={df['segment'].iloc[i]!r} has no baseline to compare against "
            "(only one variant)",
        )


def _moments(df: pd.DataFrame, idx: np.ndarray, prefix: str | None) -> Moments:
    if prefix is None:
        cols = ("n", "sum", "sum_squares")
    else:
        cols = ("n", f"{prefix}_sum", f"{prefix}_sum_squares")
    return Moments(*(df[c].to_numpy()[idx] for c in cols))


def _cross(df: pd.DataFrame, idx: np.ndarray, prefix: str) -> CrossMoments:
    return CrossMoments(
        _moments(df, idx, None),
        _moments(df, idx, prefix),
        df[f"main_{prefix}_sum_product"].to_numpy()[idx],
    )


RESULT_FIELDS = (
    "baseline_mean",
    "variant_mean",
    "effect_abs",
    "ci_abs_low",
    "ci_abs_high",
    "se_abs",
    "effect_rel",
    "ci_rel_low",
    "ci_rel_high",
    "se_rel",
    "p_value",
    "p_value_rel",
)
"""The per-comparison numbers every test returns, copied into the table."""


def _fill(
    out: dict[str, FloatArray], mask: np.ndarray, r: ComparisonResult, status: np.ndarray
) -> None:
    for name in RESULT_FIELDS:
        out[name][mask] = getattr(r, name)
    status[mask] = r.status


def _within_experiment(exp_code: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Column of each row in an experiments × comparisons matrix (rows: ``exp_code``)."""
    order = np.argsort(exp_code, kind="stable")
    sorted_codes = exp_code[order]
    starts = np.searchsorted(sorted_codes, sorted_codes, side="left")
    col = np.empty_like(exp_code)
    col[order] = np.arange(len(exp_code)) - starts
    return col


def analyze_sufficient_stats(
    frame: pd.DataFrame,
    *,
    inference: Inference | None = None,
    weights: Mapping[str, Mapping[str, float]] | None = None,
) -> ComparisonTable:
    """Analyse every comparison in a sufficient-statistics frame at once.

    Per row, the estimator is the ratio delta method where the denominator columns are
    filled, CUPED where the covariate columns are, Welch otherwise (both arms must have
    them). Each comparison also gets the Bayesian chance to win and expected loss of
    shipping the variant (relative effect, flat prior, as gbstats' default; absolute where
    the baseline mean is zero), the experiment's SRM p-value, and p-values corrected across
    metrics × variants × segments within the experiment.

    Parameters
    ----------
    frame : pandas.DataFrame
        As returned by :func:`read_sufficient_stats` (``segment`` and ``line`` optional).
    inference : Inference, optional
        Level, sidedness, ``stopping`` (fixed-horizon Welch *t* or always-valid confidence
        sequences with their ``tuning``) and the multiple-testing ``correction`` within each
        experiment; :class:`~tenure.settings.Inference` defaults when omitted.
    weights : mapping, optional
        ``{experiment: {variant: weight}}`` designed traffic split for SRM; equal otherwise.
        SRM uses the ``n`` of each variant in the experiment's first listed metric and
        segment.

    Returns
    -------
    ComparisonTable
    """
    inf = Inference() if inference is None else inference
    df = frame.reset_index(drop=True)
    if "segment" not in df.columns:
        df = df.assign(segment="all")
    group = df.groupby(KEYS[:3], sort=False).ngroup().to_numpy()
    not_ctrl = (df["variant"] != BASELINE_NAME).to_numpy()
    # Baseline per group: 'control' if present, else the first row listed.
    order = np.lexsort((np.arange(len(df)), not_ctrl, group))
    first = np.r_[True, group[order][1:] != group[order][:-1]]
    base_of_group = np.empty(group.max() + 1 if len(group) else 0, dtype=np.int64)
    base_of_group[group[order][first]] = order[first]
    base = base_of_group[group]
    rows = np.flatnonzero(base != np.arange(len(df)))
    ctrl = base[rows]
    m = len(rows)

    def filled(cols: list[str]) -> np.ndarray:
        if not all(c in df.columns for c in cols):
            return np.zeros(m, dtype=bool)
        ok = df[cols].notna().all(axis=1).to_numpy()
        return ok[rows] & ok[ctrl]

    is_ratio = filled(DENOMINATOR)
    is_cuped = filled(COVARIATE) & ~is_ratio
    is_welch = ~(is_ratio | is_cuped)

    out: dict[str, FloatArray] = {k: np.full(m, np.nan) for k in RESULT_FIELDS}
    status = np.full(m, "ok", dtype="<U16")
    kw: dict[str, Any] = {
        "alpha": inf.alpha,
        "alternative": inf.alternative,
        "method": inf.stopping,
        "tuning": inf.tuning,
    }
    if is_welch.any():
        r = welch_test(_moments(df, ctrl[is_welch], None), _moments(df, rows[is_welch], None), **kw)
        _fill(out, is_welch, r, status)
    if is_cuped.any():
        r = cuped_test(
            _cross(df, ctrl[is_cuped], "covariate"), _cross(df, rows[is_cuped], "covariate"), **kw
        )
        _fill(out, is_cuped, r, status)
    if is_ratio.any():
        r = ratio_test(
            _cross(df, ctrl[is_ratio], "denominator"),
            _cross(df, rows[is_ratio], "denominator"),
            **kw,
        )
        _fill(out, is_ratio, r, status)

    # Bayesian read-out on the relative effect (absolute where the baseline is zero).
    use_rel = ~np.isnan(out["effect_rel"])
    est = np.where(use_rel, out["effect_rel"], out["effect_abs"])
    se = np.where(use_rel, out["se_rel"], out["se_abs"])
    # Standard errors do not depend on the interval method, so the posterior is the same.
    bayes = bayesian_test(_as_result(est, se), relative=False, alpha=inf.alpha)

    label = np.select([is_ratio, is_cuped], ["ratio", "cuped"], "welch").astype(object)
    if inf.stopping == "sequential":
        label = label + "+sequential"

    result = pd.DataFrame(
        {
            "experiment": df["experiment"].to_numpy()[rows],
            "metric": df["metric"].to_numpy()[rows],
            "segment": df["segment"].to_numpy()[rows],
            "variant": df["variant"].to_numpy()[rows],
            "baseline_variant": df["variant"].to_numpy()[ctrl],
            "n_baseline": df["n"].to_numpy()[ctrl],
            "n_variant": df["n"].to_numpy()[rows],
            **out,
            "chance_to_win": bayes.chance_to_win,
            "expected_loss": bayes.risk_variant,
            "risk_control": bayes.risk_control,
            "estimator": label,
            "status": status,
        }
    )
    exp_code = pd.factorize(result["experiment"])[0]
    result["srm_p_value"] = _srm(df, weights)[result["experiment"].to_numpy()].to_numpy()
    result["p_value_adjusted"] = _adjust(exp_code, result["p_value"].to_numpy(), inf.correction)
    return ComparisonTable(result, params=inf.to_dict())


def _as_result(est: FloatArray, se: FloatArray) -> ComparisonResult:
    """Wrap an (estimate, se) pair so :func:`bayesian_test` can read it."""
    nan = np.full_like(est, np.nan)
    return ComparisonResult(
        baseline_mean=nan,
        variant_mean=nan,
        effect_abs=est,
        ci_abs_low=nan,
        ci_abs_high=nan,
        se_abs=se,
        effect_rel=nan,
        ci_rel_low=nan,
        ci_rel_high=nan,
        se_rel=nan,
        p_value=nan,
        p_value_rel=nan,
        df=nan,
        n_total=nan,
        status=np.full(est.shape, "ok"),
    )


def _srm(df: pd.DataFrame, weights: Mapping[str, Mapping[str, float]] | None) -> pd.Series:
    """SRM p-value per experiment from its first (metric, segment) group's counts."""
    first_group = df.drop_duplicates("experiment")[["experiment", "metric", "segment"]]
    sub = df.merge(first_group, on=["experiment", "metric", "segment"], how="inner")
    exp_code, experiments = pd.factorize(sub["experiment"])
    col = _within_experiment(exp_code)
    width = int(col.max()) + 1 if len(col) else 0
    counts = np.full((len(experiments), width), np.nan)
    counts[exp_code, col] = sub["n"].to_numpy()
    w = np.ones_like(counts)
    if weights:
        given = sub["experiment"].map(lambda e: e in weights).to_numpy()
        vals = [
            float(weights[e].get(v, np.nan)) if g else 1.0
            for e, v, g in zip(sub["experiment"], sub["variant"], given, strict=True)
        ]
        w[exp_code, col] = vals
        if np.isnan(w[~np.isnan(counts)]).any():
            raise SpecError("weights must give a weight for every variant of the experiment")
    return pd.Series(srm_test(counts, w), index=experiments)


def _adjust(exp_code: npt.NDArray[np.int64], p: FloatArray, correction: str) -> FloatArray:
    """Correct p-values within each experiment (one row of a NaN-padded matrix each)."""
    if correction == "none" or len(p) == 0:
        return p.copy()
    row, col = exp_code, _within_experiment(exp_code)
    mat = np.full((int(row.max()) + 1, int(col.max()) + 1), np.nan)
    mat[row, col] = p
    adjusted = holm(mat, axis=1) if correction == "holm" else benjamini_hochberg(mat, axis=1)
    return adjusted[row, col]
