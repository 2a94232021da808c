"""`tenure experiment assign|plan|analyze`: specs in, assignments, plans and scorecards out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tenure.commands._console import (
    AS_OF_OPTION,
    DATA_OPTION,
    MAP_OPTION,
    console,
    friendly_errors,
    open_dataset,
    print_json,
)

if TYPE_CHECKING:
    from tenure.experiments.analysis import Scorecard

experiment_app = typer.Typer(
    name="experiment",
    help="Experiments: assign members, plan sample sizes, analyse to a verdict.",
    no_args_is_help=True,
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OutFile = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the result's table to FILE (.csv or .parquet)."),
]
AlphaFlag = Annotated[
    float | None,
    typer.Option("--alpha", help="Significance level (overrides the spec's method.alpha)."),
]
CorrectionFlag = Annotated[
    str | None,
    typer.Option("--correction", help="holm, bh or none (overrides the spec's)."),
]
StoppingFlag = Annotated[
    str | None,
    typer.Option(
        "--stopping", help="fixed or sequential (always-valid) intervals (overrides the spec's)."
    ),
]
AlternativeFlag = Annotated[
    str | None,
    typer.Option("--alternative", help="two-sided, greater or less (overrides the spec's)."),
]


def register(app: typer.Typer) -> None:
    """Add the `experiment` sub-app to `app`."""
    app.add_typer(experiment_app, name="experiment")


@experiment_app.command("assign")
def assign_cmd(
    spec: Annotated[Path, typer.Argument(help="Experiment spec (YAML).")],
    member_ids: Annotated[list[str] | None, typer.Argument(help="Member ids to assign.")] = None,
    data: Annotated[
        str | None, typer.Option("--data", help="Assign every member of this dataset.")
    ] = None,
    as_json: JsonFlag = False,
    out: OutFile = None,
) -> None:
    """Deterministically assign members to the spec's arms (holdout and layer honoured)."""
    from tenure.experiments.assignment import assign
    from tenure.experiments.spec import load_spec

    with friendly_errors():
        s = load_spec(spec)
        ids = list(member_ids or [])
        if data:
            ds = open_dataset(data)
            ids += [str(x) for x in ds.members.member_id.to_pyarrow().to_pylist()]
        if not ids:
            from tenure.errors import SpecError

            raise SpecError("member_ids: give member ids or --data")
        result = assign(s, ids)
        if out is not None:
            result.export(out)
    if as_json:
        payload = result.to_dict()
        if data:
            payload.pop("assignments")
        print_json(payload)
        return
    from rich.table import Table

    if len(ids) <= 50:
        table = Table(title=f"{s.name}: assignments")
        for c in ("member_id", "variant", "reason"):
            table.add_column(c)
        for m, v, r in zip(result.member_id, result.variant, result.reason, strict=True):
            table.add_row(str(m), str(v) or "-", str(r) or "")
        console.print(table)
    total = len(ids)
    for k, n in result.counts().items():
        console.print(f"{k:>20}  {n:>9,}  {n / total:6.1%}")


@experiment_app.command("plan")
def plan_cmd(
    baseline: Annotated[
        float, typer.Option("--baseline", help="Control rate (or mean with --variance).")
    ],
    mde: Annotated[float | None, typer.Option("--mde", help="Effect to detect.")] = None,
    relative: Annotated[
        bool, typer.Option("--relative", help="--mde is a fraction of the baseline.")
    ] = False,
    variance: Annotated[
        float | None, typer.Option("--variance", help="Per-unit variance of a mean metric.")
    ] = None,
    daily_traffic: Annotated[
        float | None, typer.Option("--daily-traffic", help="Eligible units a day, all arms.")
    ] = None,
    threshold_count: Annotated[
        float | None,
        typer.Option("--threshold-count", help="Pilot: success above this many conversions…"),
    ] = None,
    traffic: Annotated[
        float | None, typer.Option("--traffic", help="…out of this much traffic.")
    ] = None,
    arms: Annotated[int, typer.Option("--arms", min=2, help="Arms including control.")] = 2,
    alpha: Annotated[float, typer.Option("--alpha", help="Family significance level.")] = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    correction: Annotated[
        str,
        typer.Option("--correction", help="holm, bh or none: how the arms will be corrected."),
    ] = "holm",
    alternative: Annotated[
        str, typer.Option("--alternative", help="two-sided, greater or less.")
    ] = "two-sided",
    as_json: JsonFlag = False,
    out: OutFile = None,
) -> None:
    """Sample size, detectable effect and duration (e.g. the pilot: --threshold-count 500 --traffic 5000)."""
    from tenure.experiments.plan import plan_experiment
    from tenure.settings import Inference

    with friendly_errors():
        inference = Inference().with_overrides(
            alpha=alpha, power=power, correction=correction, alternative=alternative
        )
        p = plan_experiment(
            baseline=baseline,
            mde=mde,
            relative=relative,
            variance=variance,
            daily_traffic=daily_traffic,
            threshold_count=threshold_count,
            traffic=traffic,
            arms=arms,
            inference=inference,
        )
        if out is not None:
            p.export(out)
    if as_json:
        print_json(p.to_dict())
        return
    for line in p.lines:
        console.print(line)


@experiment_app.command("analyze")
def analyze_cmd(
    spec: Annotated[Path | None, typer.Argument(help="Experiment spec (YAML).")] = None,
    data: Annotated[str | None, DATA_OPTION] = None,
    as_of: Annotated[datetime | None, AS_OF_OPTION] = None,
    mapping: Annotated[str | None, MAP_OPTION] = None,
    stats: Annotated[
        Path | None, typer.Option("--stats", help="CSV of sufficient statistics (warehouse path).")
    ] = None,
    alpha: AlphaFlag = None,
    correction: CorrectionFlag = None,
    stopping: StoppingFlag = None,
    alternative: AlternativeFlag = None,
    method: Annotated[
        str | None, typer.Option("--method", hidden=True, help="Old name of --stopping.")
    ] = None,
    as_json: JsonFlag = False,
    out: OutFile = None,
) -> None:
    """Analyse SPEC on --data to a scorecard and verdict, or a --stats CSV to comparisons.

    --alpha, --correction, --stopping and --alternative apply on both paths: with a spec
    they override its method block; a bad value is refused, never ignored.
    """
    from tenure.errors import SpecError
    from tenure.settings import Inference

    with friendly_errors():
        if method is not None:
            if stopping is not None and stopping != method:
                raise SpecError("--method is the old name of --stopping: give one of them")
            stopping = method
        flags = {
            "alpha": alpha,
            "correction": correction,
            "stopping": stopping,
            "alternative": alternative,
        }
        if stats is not None:
            if spec is not None or data is not None:
                raise SpecError(
                    "--stats: give either --stats FILE.csv or SPEC --data SRC, not both"
                )
            inference = _flags(Inference(), flags)
            _analyze_stats(stats, inference, as_json, out)
            return
        if spec is None or data is None:
            raise SpecError("analyze needs SPEC and --data SRC (or --stats FILE.csv)")
        from tenure.experiments.analysis import analyze
        from tenure.experiments.spec import load_spec

        s = load_spec(spec)
        inference = _flags(s.inference, flags)
        ds = open_dataset(data, as_of=as_of, mapping=mapping)
        card = analyze(ds, s, inference=inference)
        if out is not None:
            card.export(out)
    if as_json:
        print_json(card.to_dict())
    else:
        print_scorecard(card)


def _flags(base: Any, flags: dict[str, Any]) -> Any:
    """``base`` with the given flags applied; a bad value names its ``--flag``."""
    from tenure.errors import SpecError

    try:
        return base.with_overrides(**flags)
    except SpecError as exc:
        raise SpecError(f"--{exc}") from None


def _analyze_stats(path: Path, inference: Any, as_json: bool, out: Path | None) -> None:
    from tenure.experiments.sufficient import analyze_sufficient_stats, read_sufficient_stats

    frame = read_sufficient_stats(path)
    table = analyze_sufficient_stats(frame, inference=inference)
    if out is not None:
        table.export(out)
    if as_json:
        print_json(table.to_dict())
        return
    from rich.table import Table

    from tenure.stats.result import STATUS_CODES

    records = table.to_records()
    adjusted = f"p ({inference.correction}-adj.)" if inference.adjusts else "p"
    ci_head = f"{inference.confidence_label} CI"
    for exp in dict.fromkeys(r["experiment"] for r in records):
        rows = [r for r in records if r["experiment"] == exp]
        srm = rows[0]["srm_p_value"]
        t = Table(title=f"{exp} (SRM p = {_cell(srm, 'srm_p_value')})")
        cols = [
            "metric",
            "segment",
            "variant",
            "effect_rel",
            "ci_rel",
            "p_value_adjusted",
            "chance_to_win",
            "status",
        ]
        heads = ["metric", "segment", "variant", "effect", ci_head, adjusted, "win", "status"]
        for c, h in zip(cols, heads, strict=True):
            left = c in ("metric", "segment", "variant", "status")
            t.add_column(h, justify="left" if left else "right", overflow="fold")
        for r in rows:
            cells = [_cell(r[c], c) for c in cols]
            if r["status"] != "ok":
                cells[-1] = f"{r['status']}: {STATUS_CODES.get(r['status'], '')}"
            t.add_row(*cells)
        console.print(t)


def _cell(v: Any, col: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return "[" + ", ".join(_cell(x, col) for x in v) + "]"
    if isinstance(v, float):
        if col.startswith("p_value") or col == "srm_p_value":
            return _p(v)
        if "rel" in col:
            return f"{v:+.1%}"
        if col == "chance_to_win":
            return f"{v:.1%}"
        return f"{v:+.3g}"
    return str(v)


def _p(p: float) -> str:
    """A p-value at sensible precision: three significant digits, floored at 1e-4."""
    if p != p:
        return "-"
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


_STYLE = {
    "ship": "bold green",
    "do_not_ship": "bold red",
    "keep_running": "bold yellow",
    "investigate": "bold magenta",
}


def print_scorecard(card: Scorecard) -> None:
    """The human scorecard: header, SRM, the overall table and the verdicts."""
    from rich.table import Table

    from tenure.experiments.comparison import GUARDRAIL_LABELS

    s = card.spec
    inf = card.inference
    console.print(f"[bold]{s.name}[/] — {s.hypothesis}")
    if s.doc:
        console.print(f"[dim]{s.doc}[/]")
    counts = ", ".join(f"{k} {int(v):,}" for k, v in card.exposed.items())
    srm_style = "red" if card.srm_p_value < inf.srm_alpha else "green"
    console.print(f"Exposed: {counts}; SRM p = [{srm_style}]{_p(card.srm_p_value)}[/]")
    p_head = f"p ({inf.correction}-adj.)" if inf.adjusts else "p"
    t = Table(
        title=f"Whole population ({inf.confidence_label} intervals, {inf.stopping}; "
        "primary p adjusted across variants, guardrails unadjusted)"
    )
    for c in ("metric", "variant", "effect", f"{inf.confidence_label} CI", p_head, "result"):
        t.add_column(c, justify="left" if c in ("metric", "variant", "result") else "right")
    for r in card.overall():
        if r.role == "primary":
            status = (
                "threshold clear"
                if r.threshold_clear
                else "threshold met (point estimate)"
                if r.threshold_met
                else "threshold not met"
            )
        elif r.role == "guardrail":
            status = f"{GUARDRAIL_LABELS[r.guardrail]} (margin {r.margin:g})"
        else:
            status = "significant" if r.significant_good or r.significant_bad else ""
        if r.why_missing:
            status = f"{status}; {r.why_missing}".lstrip("; ")
        tag = {"primary": " (primary)", "guardrail": " (guardrail)"}.get(r.role, "")
        ci = f"[{r.ci_abs_low:+.3g}, {r.ci_abs_high:+.3g}]" if not r.why_missing else "n/a"
        rel = f" ({r.effect_rel:+.1%})" if r.effect_rel == r.effect_rel else ""
        effect = f"{r.effect_abs:+.3g}{rel}" if r.effect_abs == r.effect_abs else "n/a"
        t.add_row(f"{r.metric}{tag}", r.variant, effect, ci, _p(r.p_value_decision), status)
    console.print(t)
    for v in card.verdicts:
        style = _STYLE.get(v.decision, "bold")
        console.print(
            f"[{style}]{v.variant}: {v.decision.replace('_', ' ').upper()}[/] — {v.reason}"
        )
