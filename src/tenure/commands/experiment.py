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
    alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
    power: Annotated[float, typer.Option("--power")] = 0.8,
    as_json: JsonFlag = False,
) -> None:
    """Sample size, detectable effect and duration (e.g. the pilot: --threshold-count 500 --traffic 5000)."""
    from tenure.experiments.plan import plan_experiment

    with friendly_errors():
        p = plan_experiment(
            baseline=baseline,
            mde=mde,
            relative=relative,
            variance=variance,
            daily_traffic=daily_traffic,
            threshold_count=threshold_count,
            traffic=traffic,
            arms=arms,
            alpha=alpha,
            power=power,
        )
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
    method: Annotated[
        str, typer.Option("--method", help="fixed or sequential (with --stats).")
    ] = "fixed",
    correction: Annotated[
        str, typer.Option("--correction", help="holm, bh or none (with --stats).")
    ] = "holm",
    alpha: Annotated[float, typer.Option("--alpha", help="With --stats.")] = 0.05,
    as_json: JsonFlag = False,
) -> None:
    """Analyse SPEC on --data to a scorecard and verdict, or a --stats CSV to comparisons."""
    from tenure.errors import SpecError

    with friendly_errors():
        if stats is not None:
            if spec is not None or data is not None:
                raise SpecError(
                    "--stats: give either --stats FILE.csv or SPEC --data SRC, not both"
                )
            _analyze_stats(stats, method, correction, alpha, as_json)
            return
        if spec is None or data is None:
            raise SpecError("analyze needs SPEC and --data SRC (or --stats FILE.csv)")
        from tenure.experiments.analysis import analyze
        from tenure.experiments.spec import load_spec

        s = load_spec(spec)
        ds = open_dataset(data, as_of=as_of, mapping=mapping)
        card = analyze(ds, s)
    if as_json:
        print_json(card.to_dict())
    else:
        print_scorecard(card)


def _analyze_stats(path: Path, method: str, correction: str, alpha: float, as_json: bool) -> None:
    from tenure.errors import SpecError
    from tenure.experiments.sufficient import analyze_sufficient_stats, read_sufficient_stats

    if method not in ("fixed", "sequential"):
        raise SpecError(f"--method must be 'fixed' or 'sequential', got {method!r}")
    if correction not in ("holm", "bh", "none"):
        raise SpecError(f"--correction must be 'holm', 'bh' or 'none', got {correction!r}")
    frame = read_sufficient_stats(path)
    table = analyze_sufficient_stats(
        frame,
        alpha=alpha,
        method=method,  # type: ignore[arg-type]
        correction=None if correction == "none" else correction,  # type: ignore[arg-type]
    )
    if as_json:
        print_json({"comparisons": table.to_records()})
        return
    from rich.table import Table

    records = table.to_records()
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
        heads = ["metric", "segment", "variant", "effect", "95% CI", "p (adj.)", "win", "status"]
        for c, h in zip(cols, heads, strict=True):
            left = c in ("metric", "segment", "variant", "status")
            t.add_column(h, justify="left" if left else "right", overflow="fold")
        for r in rows:
            t.add_row(*(_cell(r[c], c) for c in cols))
        console.print(t)


def _cell(v: Any, col: str) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return "[" + ", ".join(_cell(x, col) for x in v) + "]"
    if isinstance(v, float):
        if col.startswith("p_value") or col == "srm_p_value":
            return f"{v:.3g}"
        if "rel" in col:
            return f"{v:+.1%}"
        if col == "chance_to_win":
            return f"{v:.1%}"
        return f"{v:+.4g}"
    return str(v)


_STYLE = {
    "ship": "bold green",
    "do_not_ship": "bold red",
    "keep_running": "bold yellow",
    "investigate": "bold magenta",
}


def print_scorecard(card: Scorecard) -> None:
    """The human scorecard: header, SRM, the overall table and the verdicts."""
    from rich.table import Table

    s = card.spec
    console.print(f"[bold]{s.name}[/] — {s.hypothesis}")
    if s.doc:
        console.print(f"[dim]{s.doc}[/]")
    counts = ", ".join(f"{k} {int(v):,}" for k, v in card.exposed.items())
    srm_style = "red" if card.srm_p_value < s.method.srm_alpha else "green"
    console.print(f"Exposed: {counts}; SRM p = [{srm_style}]{card.srm_p_value:.3g}[/]")
    t = Table(title="Whole population")
    for c in ("metric", "variant", "effect", "95% CI", "p", "result"):
        t.add_column(c, justify="left" if c in ("metric", "variant", "result") else "right")
    overall = card.table[card.table["segment"] == "all"]
    for r in overall.to_dict("records"):
        if r["role"] == "primary":
            status = "threshold met" if r["threshold_met"] else "threshold not met"
        else:
            status = r["guardrail"] or (
                "significant" if r["significant_good"] or r["significant_bad"] else ""
            )
        tag = {"primary": " (primary)", "guardrail": " (guardrail)"}.get(r["role"], "")
        t.add_row(
            f"{r['metric']}{tag}",
            r["variant"],
            f"{r['effect_abs']:+.3g} ({r['effect_rel']:+.1%})",
            f"[{r['ci_abs_low']:+.3g}, {r['ci_abs_high']:+.3g}]",
            f"{r['p_value_decision']:.2g}",
            status,
        )
    console.print(t)
    for v in card.verdicts:
        style = _STYLE.get(v.decision, "bold")
        console.print(
            f"[{style}]{v.variant}: {v.decision.replace('_', ' ').upper()}[/] — {v.reason}"
        )
