"""Record a benchmark's figures in RESULTS.md under its own heading, with the machine.

Each benchmark owns one section, delimited by HTML comments, so several benchmarks can
update the same file without clobbering each other.
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results\n\nEach section is rewritten by the script named in it.\n"


def machine() -> str:
    """One line describing where the figures were measured."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )


def record(section: str, markdown: str) -> None:
    """Replace (or append) the section named `section` in RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    block = (
        f"<!-- bench:{section} -->\n{markdown.strip()}\n\n_Machine: {machine()}_\n"
        f"<!-- /bench:{section} -->"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(section)} -->.*?<!-- /bench:{re.escape(section)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{block}\n"
    )
    RESULTS.write_text(text)
