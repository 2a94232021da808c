"""The report page: the memo and every section's takeaway, then the sections, all in one file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tenure.report.figures import cell_text, figure_html, new_figure, table_html
from tenure.report.page import Section, write_report


def test_findings_list_each_takeaway_and_escape_text(tmp_path: Path) -> None:
    sections = [
        Section("Retention", "retention", "<p>curves</p>", summary="Median tenure 7 months"),
        Section("Raw", "raw", "<p>x</p>", summary="a < b & c"),
        Section("Appendix", "appendix", "<p>y</p>"),
    ]
    page = write_report(sections, tmp_path, title="T <1>", memo_html="<h2>Memo</h2>").read_text()
    memo = page[page.index('class="memo"') : page.index("</div>")]
    assert "<h2>Memo</h2>" in memo
    assert "Median tenure 7 months" in memo and "a &lt; b &amp; c" in memo
    assert "Appendix" not in memo  # a section without a takeaway is not in the findings
    assert page.index('id="retention"') < page.index('id="raw"') < page.index('id="appendix"')
    assert "<title>T &lt;1&gt;</title>" in page


def test_figures_are_inlined_titled_and_tables_cut_with_a_note() -> None:
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [1, 0])
    ax.set_xlabel("tenure (days)")
    out = figure_html(fig, "a line")
    assert '<img alt="a line" src="data:image/png;base64,' in out
    assert 'data-title="a line"' in out  # an untitled figure takes its alt text as title
    assert "tenure (days)" in out
    html = table_html(pd.DataFrame({"x": range(100)}), max_rows=10)
    assert html.count("<td>") == 10 and "Showing 10 of 100 rows" in html


def test_tables_are_for_people() -> None:
    frame = pd.DataFrame(
        {
            "table": ["events", "members"],
            "read": [6321272, 3000],
            "rate": [0.5, 0.25],
            "total": [312091.0, 1.4000000000000001],
            "threshold": [{"kind": "absolute", "value": 0.01}, None],
            "small": [False, True],
        }
    )
    html = table_html(
        frame,
        columns={"table": "Table", "read": "Rows read", "rate": "Share", "total": "Total",
                 "threshold": "Threshold"},
        percent=["rate"],
        flag="small",
    )  # fmt: skip
    assert "6,321,272" in html and "50.0%" in html and "312,091" in html and ">1.4<" in html
    assert "{" not in html and "absolute 0.01" in html
    assert "<th>Rows read</th>" in html and "small" not in html.split("<tbody>")[0]
    assert html.count('class="small-n"') == 1
    assert cell_text(float("nan")) == "" and cell_text(True) == "yes"
