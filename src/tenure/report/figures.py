"""Turn matplotlib figures and data frames into HTML fragments a product team can read.

Figures are inlined as PNG data URIs (the report is one file that works offline) and carry
their title and axis labels as ``data-`` attributes read from the axes themselves, so the
browser test can check that every figure says what it shows and in which units. Tables get
human column names, percentages and rounding from :func:`table_html`; a number is never
shown as ``312091.000`` and a mapping never as a raw Python dict.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["cell_text", "figure_html", "interval_text", "new_figure", "pct", "table_html"]


def new_figure(width: float = 7.5, height: float = 3.8) -> Figure:
    """A figure that does not touch pyplot's global state (safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _axis_kind(axis: Any) -> str:
    """``"category"`` when the drawn tick labels are names, not numbers, else ``"quantity"``.

    Call after the figure was drawn (tick labels are filled in by drawing).
    """
    texts = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    for text in texts:
        plain = text.replace("\u2212", "-").replace(",", "").replace("%", "").strip()
        try:
            float(plain)
        except ValueError:
            return "category"
    return "quantity"


def _labels(fig: Figure) -> tuple[str, list[dict[str, str]]]:
    """The figure's title, and per visible axes its x/y labels and kinds (colour bars too)."""
    title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    axes = []
    for ax in fig.get_axes():
        title = title or ax.get_title()
        if not ax.get_visible():
            continue
        entry = {}
        for name, label, axis in (
            ("x", ax.get_xlabel(), ax.xaxis),
            ("y", ax.get_ylabel(), ax.yaxis),
        ):
            # A colour bar has one real axis; its other axis carries no ticks and needs no label.
            if not axis.get_ticklocs().size and not label:
                continue
            entry[name] = label
            entry[f"{name}kind"] = _axis_kind(axis)
        axes.append(entry)
    return title, axes


def figure_html(fig: Figure, alt: str, caption: str = "") -> str:
    """Inline `fig` as a PNG data URI so the report is one self-contained file.

    A figure drawn without a title gets `alt` as its title: every figure in the report is
    titled. The title is also written as ``data-title`` and, per axes, each axis label and
    whether the axis holds names or quantities as JSON in ``data-axes``, for the browser
    test's checks (a quantity needs a unit, a list of names only a label).
    """
    if not _labels(fig)[0]:
        fig.suptitle(alt, fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    title, axes = _labels(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    attrs = f'data-title="{html.escape(title)}" data-axes="{html.escape(json.dumps(axes))}"'
    return f'<figure {attrs}><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def pct(x: float | None, digits: int = 1, *, signed: bool = False) -> str:
    """A share as a percentage (``0.4213`` → ``42.1%``); blank for missing values.

    >>> pct(0.4213), pct(-0.012, signed=True), pct(float("nan"))
    ('42.1%', '-1.2%', '')
    """
    if x is None or not math.isfinite(float(x)):
        return ""
    return f"{float(x):+.{digits}%}" if signed else f"{float(x):.{digits}%}"


def interval_text(low: float | None, high: float | None, *, percent: bool = True) -> str:
    """An interval as ``[40.1%, 44.0%]`` (or plain numbers); blank when either end is missing."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    if percent:
        return f"[{pct(low)}, {pct(high)}]"
    return f"[{low:+.3g}, {high:+.3g}]"


def cell_text(value: Any, digits: int = 3) -> str:
    """One table cell for people: integers with separators, floats rounded, mappings spelled out.

    >>> cell_text(312091.0), cell_text(1.4000000000000001), cell_text({"kind": "absolute", "value": 0.1})
    ('312,091', '1.4', 'absolute 0.1')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return " ".join(cell_text(v, digits) for v in value.values() if v is not None)
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v, digits) for v in value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    if hasattr(value, "item"):  # numpy scalar
        return cell_text(value.item(), digits)
    if pd.isna(value):
        return ""
    return str(value)


def table_html(
    frame: pd.DataFrame,
    *,
    digits: int = 3,
    max_rows: int = 60,
    columns: Mapping[str, str] | None = None,
    percent: Iterable[str] = (),
    flag: str | None = None,
) -> str:
    """A compact HTML table for people.

    Parameters
    ----------
    frame
        The rows to show (cut to ``max_rows`` with a note).
    digits
        Significant digits of floats that are not percentages.
    columns
        Columns to show and their human names (in order); default every column as named.
    percent
        Columns (original names) shown as percentages.
    flag
        A boolean column marking rows to grey out as small groups (not shown itself).
    """
    shown = frame.head(max_rows)
    names = dict(columns) if columns is not None else {c: str(c) for c in shown.columns}
    pcts = set(percent)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names.values())
    rows = []
    for r in shown.to_dict("records"):
        small = bool(flag is not None and r.get(flag, False))
        cells = []
        for c in names:
            v = r.get(c)
            text = pct(v) if c in pcts and v is not None else cell_text(v, digits)
            cells.append(f"<td>{html.escape(text)}</td>")
        cls = (
            ' class="small-n" title="fewer members than the minimum: read with care"'
            if small
            else ""
        )
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    out = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    if len(frame) > max_rows:
        out += f'<p class="note">Showing {max_rows} of {len(frame)} rows.</p>'
    return out
