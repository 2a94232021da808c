"""The report in a real browser: no console errors, nothing off the page, every figure labelled.

Headless Chromium (Debian's package) opens the report offline, at a desktop and a narrow
width, screenshots the whole page and every section, and checks in the rendered page that
no table or figure runs past the page's right edge and that every figure states its title,
axis labels and units.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cdp import chromium_page

WIDTHS = (1280, 820)

# An axis label states its unit in parentheses ("tenure (days)") or is itself a unit-bearing
# quantity (a share in %, points, a risk ratio, a count of members/days).
UNIT = re.compile(r"\(.+\)|%|\bpts\b|\bdays?\b|risk ratio|\bmembers\b|\bshare\b", re.I)

OVERFLOW_JS = """
(() => {
  const right = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.querySelectorAll('table, figure, img, pre, p, ul, ol')) {
    const r = el.getBoundingClientRect();
    const inner = el.tagName === 'TABLE' && el.scrollWidth > el.clientWidth + 1;
    if (r.right > right + 1 || inner) {
      const sec = el.closest('section');
      bad.push(`${el.tagName} in #${sec ? sec.id : 'top'} (${Math.round(r.right)} > ${right})`);
    }
  }
  // A page that scrolls sideways does so because one of these elements sticks out.
  return bad;
})()
"""

FIGURES_JS = """
Array.from(document.querySelectorAll('figure')).map(f => ({
  section: (f.closest('section') || {id: 'top'}).id,
  title: f.dataset.title || '',
  axes: JSON.parse(f.dataset.axes || '[]'),
  loaded: Array.from(f.querySelectorAll('img')).every(i => i.complete && i.naturalWidth > 0),
}))
"""


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def browsed(
    request: pytest.FixtureRequest,
    chromium: str,
    report_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """Open the report at one width: console errors, overflow, figures and screenshots."""
    width = int(request.param)
    shots = tmp_path_factory.mktemp(f"screens-{width}")
    with chromium_page(chromium) as page:
        page.open((report_dir / "index.html").as_uri(), width=width)
        errors_on_load = list(page.errors)
        full = page.screenshot(shots / "page.png", full_page=True)
        anchors = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
        sections = {}
        for anchor in ["memo", *anchors]:
            page.evaluate(f"document.getElementById({anchor!r}).scrollIntoView()")
            sections[anchor] = page.screenshot(shots / f"{anchor}.png")
        overflow = page.evaluate(OVERFLOW_JS)
        figures = page.evaluate(FIGURES_JS)
        errors = errors_on_load + [e for e in page.errors if e not in errors_on_load]
    return {"errors": errors, "full": full, "sections": sections, "overflow": overflow,
            "figures": figures, "anchors": anchors}  # fmt: skip


def _problems(figures: list[dict[str, Any]]) -> list[str]:
    problems = []
    for f in figures:
        where = f"{f['section']} «{f['title']}»"
        if not f["loaded"]:
            problems.append(f"{where}: image did not load")
        if not f["title"]:
            problems.append(f"{f['section']}: figure has no title")
        if not f["axes"]:
            problems.append(f"{where}: no axes")
        for ax in f["axes"]:
            for name in ("x", "y"):
                if name not in ax:
                    continue
                label, kind = ax[name], ax[f"{name}kind"]
                if not label:
                    problems.append(f"{where}: no {name} label")
                elif kind == "quantity" and not UNIT.search(label):
                    problems.append(f"{where}: {name} label {label!r} has no unit")
    return problems


def test_no_console_errors(browsed: dict[str, Any]) -> None:
    assert browsed["errors"] == []


def test_every_section_is_screenshotted(browsed: dict[str, Any]) -> None:
    assert {"lifecycle", "portfolio", "survival", "experiments"} <= set(browsed["anchors"])
    assert browsed["full"].stat().st_size > 10_000
    for anchor, shot in browsed["sections"].items():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", anchor


def test_nothing_runs_off_the_page(browsed: dict[str, Any]) -> None:
    # Tables included: a table wider than its box (a sideways scroller) counts as well.
    assert browsed["overflow"] == []


def test_every_figure_has_title_axis_labels_and_units(browsed: dict[str, Any]) -> None:
    figures = browsed["figures"]
    sections = {f["section"] for f in figures}
    assert {"lifecycle", "portfolio", "survival", "cohorts", "churn", "hva-forest"} <= sections
    assert any(s.startswith("exp-") for s in sections)
    problems = _problems(figures)
    assert problems == [], "\n".join(problems)


def test_report_loads_nothing_from_the_network(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    # Links to a press release are fine; nothing may be *loaded* from elsewhere.
    assert not re.search(r"""src=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page
