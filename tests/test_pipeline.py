"""The pipeline runs every analysis once; the report only renders; specs ship with the package."""

from __future__ import annotations

import ast
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import tenure.experiments.encouragement as encouragement
from tenure.pipeline import Analyses, bundled_specs, bundled_specs_folder, run_analyses, write_html
from tenure.report.page import Section, render
from tenure.simulate import WorldConfig, simulate_world
from tenure.store import connect

REPORT = Path(__file__).resolve().parents[1] / "src" / "tenure" / "report"
MINE = ("page.py", "figures.py", "memo.py", "lifecycle.py", "portfolio.py", "__init__.py")
ANALYSES = {
    "analyse_retention", "discover", "analyze", "surrogate_index", "ease_of_encouraging",
    "lifecycle_funnel", "portfolio_view", "run_analyses", "find_workarounds",
}  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Analyses, Path, dict[str, Any]]:
    base = tmp_path_factory.mktemp("pipeline")
    simulate_world(base / "world", WorldConfig(n_members=3000, seed=11))
    truth = json.loads((base / "world" / "truth.json").read_text())
    calls = []
    original = encouragement.ease_of_encouraging

    def counted(*args: Any, **kwargs: Any) -> dict[str, float]:
        calls.append(1)
        return original(*args, **kwargs)

    encouragement.ease_of_encouraging = counted
    try:
        dataset = connect(base / "world", as_of=datetime.fromisoformat(truth["as_of"]))
        analyses = run_analyses(dataset, specs=bundled_specs(), source="3k world")
    finally:
        encouragement.ease_of_encouraging = original
    assert len(calls) == 1  # computed once, shared by the experiments section and the HVA score
    write_html(analyses, base / "report", truth=truth)
    return analyses, base / "report", truth


def test_every_analysis_ran_or_says_why(run: tuple[Analyses, Path, dict[str, Any]]) -> None:
    analyses, _, _ = run
    assert analyses.retention is not None and analyses.lifecycle is not None
    assert analyses.hva is not None and analyses.portfolio is not None
    assert {c.spec.name for c in analyses.scorecards} == {s.name for s in bundled_specs()}
    assert all(reason for reason in analyses.skipped.values())
    assert "video.stream" in analyses.ease  # the encouragement test's measured uplift
    # The funnel activates on the actions of the HVA result's own shortlist.
    shortlisted = {a for e in analyses.hva.shortlist(5) for a in e.candidate.actions}
    assert set(analyses.lifecycle.params["activation"]) <= shortlisted
    assert analyses.portfolio.params["activation_effect"] is not None


def test_report_has_memo_first_and_every_section(
    run: tuple[Analyses, Path, dict[str, Any]],
) -> None:
    _, out, _ = run
    page = (out / "index.html").read_text()
    assert page.index('id="memo"') < page.index('id="lifecycle"') < page.index('id="portfolio"')
    for anchor in ("survival", "experiments", "exp-value_messaging"):
        assert f'id="{anchor}"' in page, anchor
    failed = [a for a in page.split('id="failed-')[1:]]
    assert failed == [], [a.split('"')[0] for a in failed]  # every renderer drew its sections
    assert "&amp;amp;" not in page and "&amp;lt;" not in page  # nothing escaped twice
    memo = (out / "memo.md").read_text()
    assert memo.startswith("# ") and "## The decision" in memo and "## Risks" in memo
    assert "value_messaging" in memo  # the experiments' verdicts are in the decision


def test_sections_render_from_results_alone(run: tuple[Analyses, Path, dict[str, Any]]) -> None:
    from tenure.report import lifecycle, portfolio

    analyses, _, truth = run
    assert analyses.lifecycle is not None and analyses.portfolio is not None
    for sections in (lifecycle.render(analyses.lifecycle, truth=truth),
                     portfolio.render(analyses.portfolio)):  # fmt: skip
        assert sections and all(isinstance(s, Section) and s.summary for s in sections)


def test_text_is_escaped_exactly_once() -> None:
    page = render([Section("A&B", "ab", "<p>x</p>", summary="R&D <3")], title="T")
    assert "A&amp;B" in page and "R&amp;D &lt;3" in page and "&amp;amp;" not in page


def test_report_modules_never_import_the_demo_or_an_analysis() -> None:
    for path in sorted(REPORT.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module not in ("tenure.pipeline",), path.name
                if path.name in MINE:
                    names = {a.name for a in node.names}
                    assert not names & ANALYSES, (path.name, names & ANALYSES)
                    assert node.module != "tenure.demo", path.name


def test_demo_specs_ship_as_package_data() -> None:
    folder = bundled_specs_folder()
    assert "site-packages" in str(folder) or folder.parts[-3:] == ("tenure", "data", "experiments")
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    assert names == ["cancel_flow_recap", "encourage_video", "upsell_banner", "value_messaging"]
