"""Every hostile case through the analysis commands: exit 0 or 2, never a traceback.

Each command runs on the raw folder (checked in place: a folder with a bad row is refused
with one line) and on the database ingest wrote from it (bad rows quarantined, the rest
analysed). Where a command still fails inside another area's analysis code, the case is
marked ``xfail`` (strict) with the cause, so the gap is visible and a fix flips it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import tenure
from tenure.cli import app

from .cases import AS_OF, Case, cases
from .test_hostile_ingest import assert_no_traceback, run_ingest

runner = CliRunner()
SPEC = Path(tenure.__file__).parent / "data" / "experiments" / "upsell_banner.yaml"
COMMANDS = {
    "retention": ["retention"],
    "hva": ["hva", "--window", "3", "--horizon", "30"],
    "experiment": ["experiment", "analyze", str(SPEC)],
}
# (case, command, source) -> why it still fails; reported to the area's owner.
KNOWN: dict[tuple[str, str, str], str] = {}


# In `make test`: the clean analyses, every refusal path and the zero-member databases
# (each run costs seconds); the whole matrix runs with `make test-slow`.
FAST = {
    ("clean", "folder"),
    ("every_member_row_bad_keeps_the_quarantine", "folder"),
    ("header_only_members", "db"),
    ("unterminated_quote_is_refused_at_its_line", "folder"),
    ("parquet_integer_timestamps_are_refused", "folder"),
    ("sentinel_and_ancient_timestamps", "folder"),
}


def _params() -> list[object]:
    out: list[object] = []
    for case in cases():
        for command in COMMANDS:
            for source in ("folder", "db"):
                if source == "db" and case.error is not None:
                    continue
                why = KNOWN.get((case.name, command, source))
                marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
                if (case.name, source) not in FAST:
                    marks.append(pytest.mark.slow)
                out.append(
                    pytest.param(
                        case, command, source, marks=marks, id=f"{case.name}-{command}-{source}"
                    )
                )
    return out


@pytest.mark.parametrize(("case", "command", "source"), _params())
def test_command_on_hostile_data_ends_cleanly(
    case: Case, command: str, source: str, tmp_path: Path
) -> None:
    folder = case.build(tmp_path / "data")
    data = str(folder)
    if source == "db":
        db = tmp_path / "t.duckdb"
        run_ingest(case, folder, db)
        if not db.exists():
            pytest.skip("ingest wrote no database")
        data = str(db)
    args = [*COMMANDS[command], "--data", data, "--as-of", AS_OF.isoformat()]
    if case.mapping and source == "folder":
        args += ["--map", case.mapping]
    result = runner.invoke(app, args)
    assert_no_traceback(result)
    # A row dated after --as-of breaks no rule of a folder read in place: it is simply
    # not seen yet. Every other bad row makes the folder refused.
    breaks = [why for bad in case.bad.values() for why in bad.values() if "after as_of" not in why]
    if source == "folder" and (breaks or case.error):
        assert result.exit_code == 2, result.output
    if result.exit_code == 2:
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert (lines and lines[-1].startswith("error:")) or "Usage" in result.output


def test_retention_by_a_timestamp_column_is_a_clear_error(tmp_path: Path) -> None:
    folder = cases()[0].build(tmp_path / "data")
    result = runner.invoke(app, ["retention", "--data", str(folder), "--by", "signup_at"])
    assert result.exit_code == 2, result.output


def test_an_analysis_on_a_folder_says_what_it_skipped(tmp_path: Path) -> None:
    case = next(c for c in cases() if c.name == "unknown_files_are_reported")
    folder = case.build(tmp_path / "data")
    result = runner.invoke(app, ["retention", "--data", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert "note: skipped notes.txt: not a contract table" in result.stderr
