"""The report in a real browser: no console errors, nothing off the page, every figure labelled.

Headless Chromium (Debian's package) opens the report offline, at a desktop and a narrow
width, screenshots the whole page and every section, and checks in the rendered page that
no table or figure runs past the page's right edge and that every figure states its title,
axis labels and units.
"""

from __future__ import annotations

import re
from pathlib import Path

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
  if (document.documentElement.scrollWidth > right + 1) bad.push('page scrolls sideways');
  return bad;
})()
"""

FIGURES_JS = """
Array.from(document.querySelectorAll('figure')).map(f => ({
  section: (f.closest('section') || {id: 'top'}).id,
  title: f.dataset.title || '',
  xlabel: f.dataset.xlabel || '',
  ylabel: f.dataset.ylabel || '',
  loaded: Array.from(f.querySelectorAll('img')).every(i => i.complete && i.naturalWidth > 0),
}))
"""


@pytest.mark.parametrize("width", WIDTHS)
def test_report_renders_cleanly_in_chromium(
    chromium: str, report_dir: Path, tmp_path: Path, width: int
) -> None:
    index = report_dir / "index.html"
    shots = tmp_path / f"screens-{width}"
    shots.mkdir()
    with chromium_page(chromium) as page:
        page.open(index.as_uri(), width=width)
        assert page.errors == [], page.errors
        full = page.screenshot(shots / "page.png", full_page=True)
        assert full.stat().st_size > 10_000
        anchors = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
        assert {"lifecycle", "portfolio", "memo"} - set(anchors) == {"memo"}  # memo is a div
        for anchor in ["memo", *anchors]:
            page.evaluate(f"document.getElementById({anchor!r}).scrollIntoView()")
            shot = page.screenshot(shots / f"{anchor}.png")
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", anchor
        assert page.evaluate(OVERFLOW_JS) == []
        figures = page.evaluate(FIGURES_JS)
        assert page.errors == [], page.errors
    assert len(figures) >= 8
    problems = []
    for f in figures:
        if not f["loaded"]:
            problems.append(f"{f['section']}: image did not load")
        if not f["title"]:
            problems.append(f"{f['section']}: figure has no title")
        for axis in ("xlabel", "ylabel"):
            if not f[axis]:
                problems.append(f"{f['section']} «{f['title']}»: no {axis}")
            elif not UNIT.search(f[axis]):
                problems.append(f"{f['section']} «{f['title']}»: {axis} {f[axis]!r} has no unit")
    assert problems == []


def test_report_loads_nothing_from_the_network(report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text()
    # Links to a press release are fine; nothing may be *loaded* from elsewhere.
    assert not re.search(r"""src=["']?(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page
