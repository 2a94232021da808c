"""The report page: a memo of every section's takeaway, then the sections, all in one file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tenure.report.figures import figure_html, new_figure, table_html
from tenure.report.page import Section, write_report


def test_memo_lists_each_takeaway_and_escapes_text(tmp_path: Path) -> None:
    sections = [
        Section("Retention", "retention", "<p>curves</p>", summary="Median tenure 7 months"),
        Section("Raw", "raw", "<p>x</p>", summary="a < b & c"),
        Section("Appendix", "appendix", "<p>y</p>"),
    ]
    page = write_report(sections, tmp_path, title="T <1>").read_text()
    memo = page[page.index('class="memo"') : page.index("</div>")]
    assert "Median tenure 7 months" in memo and "a &lt; b &amp; c" in memo
    assert "Appendix" not in memo  # a section without a takeaway is not in the memo
    assert page.index('id="retention"') < page.index('id="raw"') < page.index('id="appendix"')
    assert "<title>T &lt;1&gt;</title>" in page


def test_figures_are_inlined_and_tables_cut_with_a_note() -> None:
    fig = new_figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    assert figure_html(fig, "a line").startswith(
        '<figure><img alt="a line" src="data:image/png;base64,'
    )
    html = table_html(pd.DataFrame({"x": range(100)}), max_rows=10)
    assert html.count("<td>") == 10 and "Showing 10 of 100 rows" in html


def test_integer_counts_get_thousands_separators() -> None:
    html = table_html(pd.DataFrame({"table": ["events"], "read": [6321272], "rate": [0.5]}))
    assert "6,321,272" in html and "0.500" in html
