"""Turn matplotlib figures and data frames into HTML fragments for the report."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(width: float = 7.5, height: float = 3.8) -> Figure:
    """A figure that does not touch pyplot's global state (safe in threads and servers)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def figure_html(fig: Figure, alt: str, caption: str = "") -> str:
    """Inline `fig` as a PNG data URI so the report is one self-contained file."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'
    )


def table_html(frame: pd.DataFrame, *, digits: int = 3, max_rows: int = 60) -> str:
    """A compact HTML table; floats rounded to `digits`, long tables cut with a note."""
    shown = frame.head(max_rows)
    ints = {c: "{:,}".format for c in shown.columns if pd.api.types.is_integer_dtype(shown[c])}
    out = shown.to_html(
        index=False,
        float_format=lambda v: f"{v:.{digits}f}",
        formatters=ints,  # type: ignore[arg-type]
        na_rep="",
        border=0,
    )
    if len(frame) > max_rows:
        out += f'<p class="note">Showing {max_rows} of {len(frame)} rows.</p>'
    return out
