"""Assemble sections into one self-contained HTML page (figures inlined, no external assets).

A report is a memo first: the one-page memo (:mod:`tenure.report.memo`) opens the page, then
every section's one-line ``summary`` is gathered as "Findings", so a reader who stops after
the first screen still gets the decision and the evidence. The page loads nothing from the
network (no CDN, no web fonts, no scripts), so it opens offline and in a mail attachment.

Text conventions: ``Section.title`` and ``Section.summary`` are plain text, escaped here once;
``Section.body_html`` is HTML that its renderer escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["STYLE", "Section", "render", "write_report"]

STYLE = """
*{box-sizing:border-box}
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
color:#1f2328;line-height:1.45;padding:0 1em;overflow-wrap:anywhere}
h1{margin-bottom:0}.subtitle{color:#57606a;margin-top:.2em}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:2.2em}
nav{display:flex;flex-wrap:wrap;gap:.2em 1em}
.memo{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6em 1.2em}
.memo h3{margin:.6em 0 .2em}
table{border-collapse:collapse;font-size:.86em;margin:.6em 0;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.25em .55em;text-align:right;vertical-align:top}
td{max-width:32em;overflow-wrap:anywhere}th{overflow-wrap:normal}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
tr.small-n td{color:#8c959f;font-style:italic}
figure{margin:1em 0;max-width:100%}figure img{max-width:100%;height:auto}
figcaption{color:#57606a;font-size:.9em}
.note{color:#57606a;font-size:.92em}.good{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
code{background:#f6f8fa;padding:.1em .3em;border-radius:4px}
details{margin:.4em 0 .8em}summary{cursor:pointer;color:#0969da}
"""


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the report: a title, an anchor, an HTML body and a one-line takeaway.

    ``title`` and ``summary`` are plain text (the page escapes them); ``body_html`` is HTML.
    """

    title: str
    anchor: str
    body_html: str
    summary: str = ""


def render(
    sections: Sequence[Section], *, title: str, subtitle: str = "", memo_html: str = ""
) -> str:
    """The whole page as a string: title, memo, findings, navigation, sections."""
    findings = "".join(
        f'<li><a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a>: {html.escape(s.summary)}</li>'
        for s in sections
        if s.summary
    )
    nav = "".join(
        f'<a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a>' for s in sections
    )
    body = "".join(
        f'<section id="{html.escape(s.anchor)}"><h2>{html.escape(s.title)}</h2>{s.body_html}</section>'
        for s in sections
    )
    stamp = f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by Tenure."
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="subtitle">{html.escape(subtitle)}</p>'
        f'<div class="memo" id="memo">{memo_html}<h3>Findings</h3>'
        f"<ul>{findings or '<li>No findings yet.</li>'}</ul></div>"
        f"<nav>{nav}</nav>"
        f'{body}<p class="note">{stamp}</p></body></html>'
    )


def write_report(
    sections: Sequence[Section],
    out_dir: Path,
    *,
    title: str,
    subtitle: str = "",
    memo_html: str = "",
) -> Path:
    """Write `index.html` into `out_dir` and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    page = render(sections, title=title, subtitle=subtitle, memo_html=memo_html)
    path.write_text(page, encoding="utf-8")
    return path
