"""`tenure policy train|export|evaluate`: learn a messaging policy from logs, inspect, grade it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tenure.commands._console import console, err_console, friendly_errors, print_json

if TYPE_CHECKING:
    import pandas as pd

policy_app = typer.Typer(
    help="Learn, export and evaluate benefit-messaging policies.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `policy` command group to `app`."""
    app.add_typer(policy_app, name="policy")


def _read_table(path: Path, what: str) -> pd.DataFrame:
    import pandas as pd

    from tenure.errors import SpecError

    if not path.is_file():
        raise SpecError(f"{what} {path}: no such file")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".csv.gz"):
            return pd.read_csv(path)
    except Exception as exc:  # pandas' and pyarrow's parse errors differ
        raise SpecError(f"{what} {path}: cannot read it ({exc})") from exc
    raise SpecError(f"{what} {path}: use a .csv, .csv.gz or .parquet file")


def _split(text: str, flag: str) -> list[str]:
    from tenure.errors import SpecError

    out = [t.strip() for t in text.split(",") if t.strip()]
    if not out and flag == "--factors":
        raise SpecError(f"{flag}: give a comma-separated list of columns")
    return out


def _mapping(text: str | None) -> dict[str, str]:
    from tenure.errors import SpecError

    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise SpecError(f"--columns: expected NAME=COLUMN, got {part!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


@policy_app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Snapshot file to write (.json).")],
    log: Annotated[
        Path | None, typer.Option("--log", help="Logged decisions with rewards (.csv/.parquet).")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Or a dataset: rewards joined from its exposures + events."),
    ] = None,
    catalogue_path: Annotated[
        Path | None, typer.Option("--catalogue", help="Catalogue the log was served with.")
    ] = None,
    window: Annotated[
        int | None,
        typer.Option("--window", help="Reward window after a decision (days), with --data [7]."),
    ] = None,
    reward: Annotated[
        str,
        typer.Option(
            "--reward",
            help="With --data: 'adoption' (benefit used in the window) or 'surrogate' "
            "(retained at --horizon, predicted from that use by a surrogate index).",
        ),
    ] = "adoption",
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Retention horizon (days) of --reward surrogate [180]."),
    ] = None,
    factors: Annotated[
        str, typer.Option("--factors", help="Creative factor columns.")
    ] = "message,image,cta",
    context: Annotated[
        str, typer.Option("--context", help="Context columns to pool across.")
    ] = "placement,country,plan,tenure_band,channel",
    exploration: Annotated[
        float, typer.Option("--exploration", help="Exploration floor ε.")
    ] = 0.05,
    mc_draws: Annotated[
        int, typer.Option("--mc-draws", help="Posterior draws per context for propensities.")
    ] = 2000,
    posterior_scale: Annotated[
        float,
        typer.Option(
            "--posterior-scale", help="Temper Thompson draws to this share of the posterior sd."
        ),
    ] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print a summary as JSON.")] = False,
) -> None:
    """Fit pooled Thompson sampling to logged decisions.

    From ``--log``: a table with the factor, context and ``reward`` columns. From ``--data``:
    the dataset's exposures log, each decision's reward joined from its events — with
    ``--reward adoption`` the promoted benefit used within ``--window`` days (a still-open
    window is weighed by how much of it has run — see ``tenure.messaging.rewards.seen_share``);
    with ``--reward surrogate``, retention at ``--horizon`` days predicted from that use by a
    surrogate index fitted on the log's decisions old enough (``tenure.messaging.training``).
    """
    import pandas as pd

    from tenure.errors import SpecError
    from tenure.messaging.policies.thompson import ThompsonPolicy
    from tenure.messaging.snapshot import write_snapshot

    described: dict[str, object] = {"reward": "log"}
    with friendly_errors():
        if (log is None) == (data is None):
            raise SpecError("give exactly one of --log FILE or --data SRC")
        if reward not in ("adoption", "surrogate"):
            raise SpecError(f"--reward: expected adoption or surrogate, got {reward!r}")
        if horizon is not None and reward != "surrogate":
            raise SpecError(
                "--horizon: only with --reward surrogate (the adoption reward has none)"
            )
        if data is not None:
            from tenure.commands._console import open_dataset
            from tenure.messaging import Catalogue
            from tenure.messaging.training import training_data

            cat = Catalogue.load(catalogue_path) if catalogue_path else Catalogue.default()
            td = training_data(
                open_dataset(data), cat, reward=reward, window_days=7 if window is None else window,
                horizon_days=180 if horizon is None else horizon,
                factors=_split(factors, "--factors"), context=_split(context, "--context"),
            )  # fmt: skip
            frame, described = td.frame, td.describe()
            source = data
        else:
            assert log is not None
            if reward != "adoption":
                raise SpecError(
                    f"--reward {reward}: needs --data SRC (the index is fitted on members' "
                    "retention at the horizon); a --log brings its own reward column"
                )
            if window is not None:
                raise SpecError("--window: only with --data (a --log brings its own rewards)")
            frame = _read_table(log, "--log")
            source = str(log)
        assert isinstance(frame, pd.DataFrame)
        ctx = _split(context, "--context")
        absent = [c for c in ctx if c not in frame.columns]
        if absent:
            raise SpecError(
                f"--context: the log has no column(s) {absent} "
                f"(have {', '.join(map(str, frame.columns))})"
            )
        if "propensity" in frame.columns:
            p = frame["propensity"].to_numpy(dtype=float)
            if ((p <= 0) | (p > 1)).any():
                raise SpecError(f"{source}: propensity must be in (0, 1] on every row")
        if not 0 < posterior_scale <= 1:
            raise SpecError(f"--posterior-scale: must be in (0, 1], got {posterior_scale}")
        pol = ThompsonPolicy(
            _split(factors, "--factors"), ctx, exploration=exploration, mc_draws=mc_draws,
            posterior_scale=posterior_scale,
        ).fit(frame)  # fmt: skip
        write_snapshot(out, "thompson", {**pol.snapshot_state(), "training": described})
    summary = {
        "snapshot": str(out),
        "version": pol.version,
        "decisions": pol.n_decisions_,
        "coefficients": pol.design_.n_features,
        "newton_iterations": pol.n_iter_,
        "factors": list(pol.factors),
        "context": list(pol.context),
        **described,
    }
    if as_json:
        print_json(summary)
        return
    console.print(
        f"wrote {out}: policy {pol.version} from {pol.n_decisions_:,} decisions, "
        f"{pol.design_.n_features:,} coefficients ({pol.n_iter_} Newton steps)",
        highlight=False,
    )


@policy_app.command("export")
def export(
    snapshot: Annotated[Path, typer.Argument(help="A snapshot written by `policy train`.")],
    out: Annotated[Path, typer.Option("--out", help="Table to write (.csv/.parquet).")],
) -> None:
    """Write the policy as a table: one row per observed context × creative with its `prob`."""
    from tenure.errors import SpecError
    from tenure.messaging.policies.thompson import ThompsonPolicy
    from tenure.messaging.snapshot import load_policy
    from tenure.results import export_frame

    with friendly_errors():
        pol = load_policy(snapshot)
        if not isinstance(pol, ThompsonPolicy):
            raise SpecError(f"{snapshot}: a {pol.version} policy has no table to export")
        table = pol.export()
        export_frame(table, out)
    err_console.print(f"wrote {out}: {len(table):,} rows", highlight=False)


@policy_app.command("evaluate")
def evaluate(
    log: Annotated[Path, typer.Option("--log", help="Logged rounds (.csv/.parquet).")],
    target: Annotated[
        Path, typer.Option("--target", help="Target probabilities table, or a snapshot .json.")
    ],
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Map log names: action=item_id,reward=click,…"),
    ] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="1 - confidence level.")] = 0.05,
    prior_strength: Annotated[
        float, typer.Option("--prior-strength", help="Reward-model shrinkage (pseudo-rounds).")
    ] = 10.0,
    switch_lambda: Annotated[
        float | None,
        typer.Option("--switch-lambda", help="Also switch-DR: DR's correction only where w ≤ λ."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Estimate the target policy's value on the log: IPS, SNIPS, DM, DR with intervals."""
    import pandas as pd

    from tenure.messaging.offpolicy import evaluate_tables, rename_log
    from tenure.messaging.policies.thompson import ThompsonPolicy
    from tenure.messaging.snapshot import load_policy

    with friendly_errors():
        frame = _read_table(log, "--log")
        assert isinstance(frame, pd.DataFrame)
        frame = rename_log(frame, _mapping(columns))
        if target.suffix == ".json":
            pol = load_policy(target)
            if not isinstance(pol, ThompsonPolicy):
                from tenure.errors import SpecError

                raise SpecError(f"{target}: evaluate a uniform policy with a table")
            table = pol.export().drop(columns=list(pol.factors))
            if "action" not in frame.columns and set(pol.factors) <= set(frame.columns):
                frame["action"] = frame[list(pol.factors)].astype(str).agg(":".join, axis=1)
        else:
            t = _read_table(target, "--target")
            assert isinstance(t, pd.DataFrame)
            table = t
        result = evaluate_tables(
            frame, table, alpha=alpha, prior_strength=prior_strength, switch_lambda=switch_lambda
        )
    if as_json:
        print_json(result.to_dict())
        return
    d = result.diagnostics
    tab = Table(title=f"Off-policy value of {target.name} on {log.name} ({d.n:,} rounds)")
    for col in ("estimator", "value", "s.e.", f"{1 - alpha:.0%} CI"):
        tab.add_column(col, justify="right" if col != "estimator" else "left")
    for name, v, se, lo, hi in zip(
        result.estimator, result.value, result.se, result.ci_low, result.ci_high, strict=True
    ):
        tab.add_row(name, f"{v:.6g}", f"{se:.3g}", f"[{lo:.6g}, {hi:.6g}]")
    console.print(tab)
    console.print(
        f"logged policy's value {result.logged_value:.6g}; effective sample size "
        f"{d.ess:,.0f}; max weight {d.max_weight:.3g}; mean weight {d.mean_weight:.3f}",
        highlight=False,
    )
    for w in d.warnings:
        err_console.print(f"[bold yellow]warning:[/] {w}", highlight=False)
