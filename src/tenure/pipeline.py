"""Run every analysis once on a dataset, then hand the results to the report's renderers.

This is the one place that *orchestrates*: ``tenure demo`` (a simulated world) and
``tenure report`` (the user's data) both call :func:`run_analyses` and :func:`write_html`.
The report modules only render results they are given — they never call an analysis — so
there is no import cycle between the report and the demo, and anything two sections need
(the encouragement tests' measured ease, the HVA list the lifecycle funnel activates on) is
computed once here and passed to both.

An analysis the data cannot support (no events table, a horizon not yet observed, no
exposures for the experiment specs) is *skipped with its reason*: the reason is shown in the
terminal, in the report and in the memo's open questions, never swallowed.

::

    from tenure.pipeline import run_analyses, write_html
    analyses = run_analyses(connect("world/"))
    write_html(analyses, Path("report/"))
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenure.errors import TenureError

if TYPE_CHECKING:
    from tenure.experiments.analysis import Scorecard
    from tenure.experiments.spec import ExperimentSpec
    from tenure.experiments.surrogate import SurrogateResult
    from tenure.hva import HvaResult
    from tenure.lifecycle import LifecycleResult
    from tenure.portfolio import PortfolioResult
    from tenure.report.memo import Memo
    from tenure.report.page import Section
    from tenure.retention import RetentionResult
    from tenure.store import Dataset, IngestReport

__all__ = [
    "Analyses",
    "ProgressFactory",
    "ReportFiles",
    "Update",
    "bundled_specs",
    "bundled_specs_folder",
    "render_sections",
    "run_analyses",
    "write_html",
]

Update = Callable[[str, float], None]
"""``update(detail, fraction_done)`` for one step's progress bar."""
ProgressFactory = Callable[[str], AbstractContextManager[Update]]
"""Opens a progress bar for the step labelled with its argument."""

HVA_WINDOW_DAYS = 7
HVA_HORIZON_DAYS = 90
ACTIVATION_TOP = 5
"""The lifecycle funnel's activation uses the top single-action HVAs, at most this many."""


def bundled_specs_folder() -> Path:
    """The experiment specs shipped with the package (``tenure/data/experiments``)."""
    return Path(str(resources.files("tenure") / "data" / "experiments"))


def bundled_specs() -> list[ExperimentSpec]:
    """The demo world's experiment specs, read from the installed package."""
    from tenure.experiments.spec import load_specs

    return load_specs(bundled_specs_folder())


@dataclass(frozen=True)
class Analyses:
    """Every result of one run, the steps skipped with their reasons, and the time each took."""

    source: str
    dataset: Dataset
    ingest: IngestReport | None = None
    retention: RetentionResult | None = None
    hva: HvaResult | None = None
    specs: tuple[ExperimentSpec, ...] = ()
    scorecards: tuple[Scorecard, ...] = ()
    surrogates: Mapping[str, SurrogateResult] = field(default_factory=dict)
    ease: Mapping[str, float] = field(default_factory=dict)
    lifecycle: LifecycleResult | None = None
    portfolio: PortfolioResult | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    seconds: Mapping[str, float] = field(default_factory=dict)

    def memo(self) -> Memo:
        """The one-page memo of these results."""
        from tenure.report.memo import build_memo

        return build_memo(
            retention=self.retention,
            hva=self.hva,
            scorecards=self.scorecards,
            lifecycle=self.lifecycle,
            portfolio=self.portfolio,
            ingest=self.ingest,
            skipped=self.skipped,
            as_of=self.dataset.as_of,
            source=self.source,
        )


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_html` wrote, and the lines for the terminal summary."""

    index: Path
    memo: Path
    summary: tuple[str, ...]


def run_analyses(
    dataset: Dataset,
    *,
    specs: Sequence[ExperimentSpec] | None = None,
    ingest: IngestReport | None = None,
    progress: ProgressFactory | None = None,
    source: str | None = None,
    demo_dir: Path | None = None,
) -> Analyses:
    """Run retention, experiments, HVAs, the lifecycle funnel and the portfolio on `dataset`.

    Parameters
    ----------
    dataset
        From :func:`tenure.store.connect` (or ``open_dataset``).
    specs
        Experiment specs to read out; ``None`` or empty: no experiments (the demo passes
        :func:`bundled_specs`).
    ingest
        The ingest report, when the dataset was just ingested (shown in the data section).
    progress
        Opens a progress bar per step; silent by default.
    source
        How to name the data in the report (default: the dataset's source).
    demo_dir
        Set by the demo: also replay the world through the decision server (its log goes
        under this folder) and run the messaging closed loop, which need a simulated world.
    """
    bar = progress or _silent
    skipped: dict[str, str] = {}
    seconds: dict[str, float] = {}
    out: dict[str, Any] = {}

    def step(label: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            with bar(label) as update:
                update("running", 0.1)
                return fn()
        except TenureError as exc:
            skipped[label] = str(exc)
            return None
        finally:
            seconds[label] = time.perf_counter() - start

    out["retention"] = step("retention", lambda: _retention(dataset))
    spec_list = tuple(specs or ())
    cards: tuple[Scorecard, ...] = ()
    surrogates: dict[str, SurrogateResult] = {}
    ease: dict[str, float] = {}
    if not spec_list:
        skipped["experiments"] = "no experiment specs given (tenure report --specs DIR)"
    elif dataset.exposures is None:
        skipped["experiments"] = "the dataset has no exposures table"
    else:
        read = step("experiments", lambda: _experiments(dataset, spec_list))
        if read is not None:
            cards, surrogates, ease = read
    out["hva"] = step("high-value actions", lambda: _hva(dataset, ease))
    activation = _activation(out["hva"])
    out["lifecycle"] = step("lifecycle", lambda: _lifecycle(dataset, activation))
    out["portfolio"] = step("portfolio", lambda: _portfolio(dataset, out["hva"], cards, activation))
    extra: dict[str, Any] = {}
    for name, compute in _extras(dataset, cards, demo_dir):
        value = step(name, compute)
        if value is not None:
            extra[name] = value
    return Analyses(
        extra=extra,
        source=source or dataset.source,
        dataset=dataset,
        ingest=ingest,
        retention=out["retention"],
        hva=out["hva"],
        specs=spec_list,
        scorecards=cards,
        surrogates=surrogates,
        ease=ease,
        lifecycle=out["lifecycle"],
        portfolio=out["portfolio"],
        skipped=skipped,
        seconds=seconds,
    )


def _extras(
    dataset: Dataset, cards: Sequence[Scorecard], demo_dir: Path | None
) -> list[tuple[str, Callable[[], Any]]]:
    """The product, messaging and serving steps (the last two need the demo's world)."""

    def opportunities() -> Any:
        from tenure.opportunities import find_workarounds

        return find_workarounds(dataset)

    def ideas() -> Any:
        from tenure.ideas import load_ideas

        folder = Path(str(resources.files("tenure") / "data" / "ideas"))
        return load_ideas(folder, verdicts={c.spec.name: c.verdicts for c in cards})

    def pilots() -> Any:
        from tenure.experiments.anomalies import detect_anomalies

        return tuple(detect_anomalies(dataset, name) for name in _experiment_names(dataset, cards))

    def messaging() -> Any:
        from tenure.messaging.loop import run_closed_loop

        # The loop simulates its own traffic. Four weeks at 1,000 sign-ups a day for a
        # full-size demo; a small world (tests, a first try) gets a loop of its size (50 a
        # day at 5,000 members) — its curve is shown, not graded: the learning bar is held
        # by tests/messaging, and a larger loop would be most of a small demo's time.
        members = int(dataset.members.count().to_pyarrow().as_py())
        return run_closed_loop(days=28, members_per_day=min(1000, max(50, members // 100)))

    def serve() -> Any:
        from tenure.serve.replay import replay_demo

        assert demo_dir is not None
        return replay_demo(dataset, demo_dir, seconds=3.0)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("opportunities", opportunities),
        ("ideas", ideas),
    ]
    if dataset.exposures is not None:
        steps.append(("pilots", pilots))
    if demo_dir is not None:
        steps += [("messaging", messaging), ("serve", serve)]
    return steps


def _experiment_names(dataset: Dataset, cards: Sequence[Scorecard]) -> list[str]:
    """The experiments read out (in spec order), then every other one in the exposures.

    A pilot or a test without a spec still has data whose edge cases are worth a look.
    """
    names = [c.spec.name for c in cards]
    if dataset.exposures is not None:
        found = dataset.exposures.select("experiment").distinct().to_pyarrow()
        extra = {str(n) for n in found["experiment"].to_pylist() if n is not None}
        names += sorted(extra - set(names))
    return names


def _retention(dataset: Dataset) -> RetentionResult:
    from tenure.retention import analyse_retention

    by = "channel" if "channel" in dataset.members.columns else None
    return analyse_retention(dataset, by=by)


def _experiments(
    dataset: Dataset, specs: Sequence[ExperimentSpec]
) -> tuple[tuple[Scorecard, ...], dict[str, SurrogateResult], dict[str, float]]:
    from tenure.experiments.analysis import analyze
    from tenure.experiments.encouragement import ease_of_encouraging
    from tenure.experiments.surrogate import surrogate_index

    cards = tuple(analyze(dataset, s) for s in specs)
    surrogates: dict[str, SurrogateResult] = {}
    for s in specs:
        if s.surrogate is not None:
            try:
                surrogates[s.name] = surrogate_index(dataset, s)
            except TenureError:  # too little history to fit: the scorecard stands without it
                continue
    # Computed once: the experiments section shows it and the HVA score uses it.
    ease = ease_of_encouraging(dataset, specs)
    return cards, surrogates, ease


def _hva(dataset: Dataset, ease: Mapping[str, float]) -> HvaResult:
    from tenure.hva import discover

    by = "country" if "country" in dataset.members.columns else None
    return discover(
        dataset,
        window=HVA_WINDOW_DAYS,
        horizon=HVA_HORIZON_DAYS,
        by=by,
        ease_of_encouraging=dict(ease),
    )


def _activation(hva: HvaResult | None) -> tuple[str, ...] | None:
    """The actions of the top high-value actions: what "activated" means in the funnel.

    From the HVA shortlist (one entry per action family, best score first), the actions each
    involves — "video.stream ≥ 2" and "shipping.order + video.stream" contribute their
    actions — up to :data:`ACTIVATION_TOP`; ``None`` (any benefit used) when there is none.
    """
    if hva is None:
        return None
    actions: list[str] = []
    for e in hva.shortlist(ACTIVATION_TOP):
        if e.candidate.kind != "distinct":
            actions += [a for a in e.candidate.actions if a not in actions]
    return tuple(actions[:ACTIVATION_TOP]) or None


def _lifecycle(dataset: Dataset, activation: Sequence[str] | None) -> LifecycleResult:
    from tenure.lifecycle import lifecycle_funnel

    segment = "plan" if "plan" in dataset.members.columns else None
    return lifecycle_funnel(
        dataset,
        activation=activation,
        window=HVA_WINDOW_DAYS,
        horizon=HVA_HORIZON_DAYS,
        segment=segment,
    )


def _portfolio(
    dataset: Dataset,
    hva: HvaResult | None,
    cards: Sequence[Scorecard],
    activation: Sequence[str] | None,
) -> PortfolioResult:
    from tenure.portfolio import experiment_evidence, portfolio_view

    effect = None
    if hva is not None and activation:
        chosen = [e.adjusted_diff for e in hva.shortlist(ACTIVATION_TOP)]
        if chosen:
            effect = float(sum(chosen) / len(chosen))
    return portfolio_view(
        dataset,
        activation=activation,
        activation_effect=effect,
        experiments=[experiment_evidence(c) for c in cards],
        window=HVA_WINDOW_DAYS,
        horizon=HVA_HORIZON_DAYS,
    )


def render_sections(analyses: Analyses, *, truth: Mapping[str, Any] | None = None) -> list[Section]:
    """Every area's report sections, in report order, from the results in `analyses`."""
    from tenure.report import lifecycle as rlife
    from tenure.report import portfolio as rport
    from tenure.report.page import Section

    sections: list[Section] = []
    if analyses.ingest is not None:
        from tenure.report.memo import data_section

        sections.append(data_section(analyses.ingest))
    if analyses.lifecycle is not None:
        sections += rlife.render(analyses.lifecycle, truth=truth)
    if analyses.portfolio is not None:
        sections += rport.render(analyses.portfolio, truth=truth)
    retention, hva = analyses.retention, analyses.hva
    if retention is not None:
        sections += _guarded("retention", lambda: _render_retention(retention, truth))
    if hva is not None:
        sections += _guarded("high-value actions", lambda: _render_hva(hva, truth))
    if analyses.scorecards:
        sections += _guarded("experiments", lambda: _render_experiments(analyses, truth))
    for area, result in analyses.extra.items():
        sections += _guarded(area, partial(_render_extra, area, result, truth))
    if analyses.skipped:
        items = "".join(
            f"<li><b>{_esc(k)}</b>: {_esc(v)}</li>" for k, v in analyses.skipped.items()
        )
        sections.append(
            Section(
                "Not analysed",
                "skipped",
                f"<p>These analyses did not run on this data, and why:</p><ul>{items}</ul>",
            )
        )
    return sections


def _guarded(area: str, draw: Callable[[], list[Section]]) -> list[Section]:
    """An area's sections; a renderer that fails shows its error in the report, loudly.

    Areas are developed side by side: one renderer lagging behind its result type must not
    take the whole report down with it, nor disappear silently.
    """
    from tenure.report.page import Section

    try:
        return draw()
    except Exception as exc:  # any renderer bug: shown, not swallowed
        text = f"the {area} renderer failed: {type(exc).__name__}: {exc}"
        return [
            Section(
                f"{area.capitalize()} (not rendered)",
                f"failed-{area.replace(' ', '-')}",
                f'<p class="bad">{_esc(text)}</p>',
                summary=f"Could not render {area}: {type(exc).__name__}.",
            )
        ]


def _render_extra(area: str, result: Any, truth: Mapping[str, Any] | None) -> list[Section]:
    """The sections of one product, messaging or serving result (each area's pure renderer)."""
    render: Callable[..., list[Section]]
    if area == "opportunities":
        from tenure.report.opportunities import render
    elif area == "ideas":
        from tenure.report.ideas import render
    elif area == "pilots":
        from tenure.report.pilots import render
    elif area == "pilot readout":
        from tenure.report.pilots import render

        readout, anomalies = result
        return render(readout, truth=truth, anomalies=anomalies)
    elif area == "messaging":
        from tenure.report.messaging import render
    else:
        from tenure.report.serve import render
    return render(result, truth=truth)


def _esc(text: str) -> str:
    import html

    return html.escape(text)


def _render_retention(result: RetentionResult, truth: Mapping[str, Any] | None) -> list[Section]:
    from tenure.report import retention

    return retention.render(result, truth=truth)


def _render_hva(result: HvaResult, truth: Mapping[str, Any] | None) -> list[Section]:
    from tenure.report import hva

    return hva.render(result, truth=truth)


def _render_experiments(analyses: Analyses, truth: Mapping[str, Any] | None) -> list[Section]:
    from tenure.report import experiments as mod

    return mod.render(
        analyses.scorecards, truth=truth, surrogates=analyses.surrogates, ease=analyses.ease
    )


def write_html(
    analyses: Analyses,
    out_dir: Path,
    *,
    title: str = "Tenure retention report",
    subtitle: str = "",
    truth: Mapping[str, Any] | None = None,
) -> ReportFiles:
    """Render every section and the memo into ``out_dir/index.html`` and ``out_dir/memo.md``."""
    from tenure.report.memo import memo_html
    from tenure.report.page import write_report

    memo = analyses.memo()
    sections = render_sections(analyses, truth=truth)
    out_dir.mkdir(parents=True, exist_ok=True)
    memo_path = out_dir / "memo.md"
    memo_path.write_text(memo.to_markdown(), encoding="utf-8")
    index = write_report(
        sections, out_dir, title=title, subtitle=subtitle, memo_html=memo_html(memo)
    )
    summary = [s.summary for s in sections if s.summary]
    summary += [f"Skipped {step}: {why}" for step, why in analyses.skipped.items()]
    return ReportFiles(index, memo_path, tuple(summary))


def _silent(_label: str) -> AbstractContextManager[Update]:
    return nullcontext(lambda _detail, _fraction: None)
