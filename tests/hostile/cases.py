"""A generator of hostile dataset folders, each with what a correct ingest must do with it.

Every case is a small folder built from one clean base dataset plus one hostile twist
(issue 10 and its siblings). A case states its truth independently of Tenure's code:
either the whole input must be refused with a message containing ``error``, or every good
row must load with the values written here (``good``: table -> {key: {column: value}}) and
every bad row must be quarantined at its physical line with a reason containing the text
given (``bad``: table -> {(file, line): reason}).
"""

from __future__ import annotations

import bz2
import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

AS_OF = datetime(2024, 12, 31, tzinfo=UTC)


def ts(text: str) -> datetime:
    """A UTC datetime from a compact ISO string (the expected loaded value)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


MEMBERS_HEADER = "member_id,signup_at,ended_at,channel,country,plan,fee"
MEMBERS_ROWS = [
    "m1,2024-01-01T00:00:00Z,,organic,US,monthly,9.99",
    "m2,2024-01-02T00:00:00Z,2024-03-01T00:00:00Z,paid,GB,annual,99",
    "m3,2024-01-03T12:00:00Z,,social,US,monthly,9.99",
    "m4,2024-01-04T00:00:00Z,2024-06-01T00:00:00Z,organic,DE,monthly,0",
]
MEMBERS_GOOD: dict[str, dict[str, Any]] = {
    "m1": {"signup_at": ts("2024-01-01T00:00:00Z"), "ended_at": None, "fee": 9.99},
    "m2": {"signup_at": ts("2024-01-02T00:00:00Z"), "ended_at": ts("2024-03-01T00:00:00Z")},
    "m3": {"signup_at": ts("2024-01-03T12:00:00Z"), "channel": "social", "fee": 9.99},
    "m4": {"signup_at": ts("2024-01-04T00:00:00Z"), "ended_at": ts("2024-06-01T00:00:00Z")},
}
EVENTS_HEADER = "member_id,ts,action,benefit,value"
EVENTS_ROWS = [
    "m1,2024-01-01T01:00:00Z,video.stream,video,",
    "m1,2024-01-02T01:00:00Z,shipping.order,shipping,5.5",
    "m2,2024-01-02T05:00:00Z,video.stream,video,",
    "m3,2024-01-04T00:00:00Z,music.play,music,0",
    "m4,2024-01-05T00:00:00Z,shipping.order,shipping,3",
]
EXPOSURES = (
    "member_id,ts,experiment,variant,placement\n"
    "m1,2024-01-01T02:00:00Z,upsell_banner,control,home_banner\n"
    "m2,2024-01-02T06:00:00Z,upsell_banner,upsell,home_banner\n"
    "m3,2024-01-04T01:00:00Z,upsell_banner,control,home_banner\n"
    "m4,2024-01-05T01:00:00Z,upsell_banner,upsell,home_banner\n"
)
BENEFITS = "benefit,name,cost_per_use\nvideo,Video,0.1\nshipping,Free delivery,2\nmusic,Music,0\n"


def csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


@dataclass
class Case:
    """One hostile folder and what a correct ingest does with it."""

    name: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    good: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    bad: dict[str, dict[tuple[str, int], str]] = field(default_factory=dict)
    error: str | None = None
    make: Callable[[Path], None] | None = None
    skipped: tuple[str, ...] = ()
    mapping: str | None = None
    all_bad: bool = False
    base: bool = True
    """Also write the clean base files not overridden in ``files``."""

    def build(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, str | bytes] = {}
        if self.base:
            files = {
                "members.csv": csv(MEMBERS_HEADER, MEMBERS_ROWS),
                "events.csv": csv(EVENTS_HEADER, EVENTS_ROWS),
                "exposures.csv": EXPOSURES,
                "benefits.csv": BENEFITS,
            }
        files.update(self.files)
        for rel, content in files.items():
            if content is None:
                continue
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        if self.make:
            self.make(folder)
        return folder


def _members_with(*rows: str, header: str = MEMBERS_HEADER) -> str:
    return csv(header, [*MEMBERS_ROWS, *rows])


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def _members_table(**over: Any) -> pa.Table:
    cols: dict[str, Any] = {
        "member_id": pa.array(["m1", "m2", "m3", "m4"]),
        "signup_at": pa.array(
            [ts(f"2024-01-0{d}T00:00:00Z") for d in (1, 2, 3, 4)], pa.timestamp("us", "UTC")
        ),
        "fee": pa.array([9.99, 99.0, 9.99, 0.0]),
    }
    cols.update(over)
    return pa.table(cols)


def _symlink(target: str, name: str) -> Callable[[Path], None]:
    def make(folder: Path) -> None:
        (folder / name).unlink(missing_ok=True)
        os.symlink(target, folder / name)

    return make


def _loop(folder: Path) -> None:
    (folder / "exposures.csv").unlink()
    os.symlink(folder / "exposures.csv", folder / "exposures.csv")


def cases() -> list[Case]:
    """Every hostile case, small; names are stable test ids."""
    out = [
        Case("clean", good={"members": MEMBERS_GOOD}),
        Case(
            "named_zone_does_not_shift_later_rows",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER,
                    [
                        MEMBERS_ROWS[0],
                        "m2,2024-01-02 00:00:00 Asia/Tokyo,,paid,GB,annual,99",
                        "m3,2024-01-03 12:00:00,,social,US,monthly,9.99",
                        "m4,2024-01-04T09:00:00+09:00,,organic,DE,monthly,0",
                        "m5,2024-01-05T00:00,,organic,DE,monthly,0",
                    ],
                )
            },
            good={
                "members": {
                    "m1": {"signup_at": ts("2024-01-01T00:00:00Z")},
                    "m3": {"signup_at": ts("2024-01-03T12:00:00Z")},
                    "m4": {"signup_at": ts("2024-01-04T00:00:00Z")},
                    "m5": {"signup_at": ts("2024-01-05T00:00:00Z")},
                }
            },
            bad={
                "members": {("members.csv", 3): "named time zone"},
                "events": {("events.csv", 4): "was quarantined"},
                "exposures": {("exposures.csv", 3): "was quarantined"},
            },
        ),
        Case(
            "parts_with_columns_in_another_order_match_by_name",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members/part-0.csv": csv(MEMBERS_HEADER, MEMBERS_ROWS[:2]),
                "members/part-1.csv": (
                    "fee,plan,country,channel,ended_at,signup_at,member_id\n"
                    "9.99,monthly,US,social,,2024-01-03T12:00:00Z,m3\n"
                    "0,monthly,DE,organic,2024-06-01T00:00:00Z,2024-01-04T00:00:00Z,m4\n"
                ),
            },
            good={
                "members": {
                    **MEMBERS_GOOD,
                    "m3": {"channel": "social", "country": "US", "fee": 9.99},
                    "m4": {"channel": "organic", "country": "DE"},
                }
            },
        ),
        Case(
            "same_file_name_at_top_and_in_part_folder",
            files={
                "members.csv": csv(MEMBERS_HEADER, MEMBERS_ROWS[:2]),
                "members/members.csv": csv(
                    MEMBERS_HEADER, [MEMBERS_ROWS[2], MEMBERS_ROWS[0], MEMBERS_ROWS[3]]
                ),
            },
            good={"members": MEMBERS_GOOD},
            bad={
                "members": {
                    ("members/members.csv", 3): "duplicate of members.csv line 2",
                }
            },
        ),
        Case(
            "unterminated_quote_is_refused_at_its_line",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER,
                    [
                        MEMBERS_ROWS[0],
                        'm2,2024-01-02T00:00:00Z,,"paid,GB,annual,99',
                        *MEMBERS_ROWS[2:],
                    ],
                )
            },
            error="members.csv line 3: a quoted value opened on this line is never closed",
        ),
        Case(
            "user_columns_named_like_internal_ones_are_data",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER + ",_line,_reason,_file,_record,_tenure_line",
                    [r + ",L,R,F,REC,T" for r in MEMBERS_ROWS] + [",2024-01-05,,,,,,1,2,3,4,5"],
                )
            },
            good={
                "members": {
                    "m1": {"_line": "L", "_reason": "R", "_file": "F", "_record": "REC"},
                    "m2": {"_line": "L"},
                    "m3": {"_record": "REC"},
                    "m4": {"_tenure_line": "T", "fee": 0.0},
                }
            },
            bad={"members": {("members.csv", 6): "member_id is missing"}},
        ),
        Case(
            "parquet_integer_timestamps_are_refused",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members.parquet": _parquet(
                    _members_table(signup_at=pa.array([1704067200, 1704153600, 1704240000, 1]))
                ),
            },
            error="signup_at is stored as BIGINT",
        ),
        Case(
            "non_finite_and_nan_numbers",
            files={
                "members.csv": _members_with(
                    "m5,2024-01-05,,organic,US,monthly,NaN",
                    "m6,2024-01-05,,organic,US,monthly,inf",
                    "m7,2024-01-05,,organic,US,monthly,1e309",
                    "m8,2024-01-05,,organic,US,monthly,-infinity",
                    "m9,2024-01-05,,organic,US,monthly,NULL",
                )
            },
            good={"members": {**MEMBERS_GOOD, "m5": {"fee": None}, "m9": {"fee": None}}},
            bad={
                "members": {
                    ("members.csv", 7): "is not a finite number",
                    ("members.csv", 8): "is not a finite number",
                    ("members.csv", 9): "is not a finite number",
                }
            },
        ),
        Case(
            "parquet_nan_is_null_and_inf_is_refused",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members.parquet": _parquet(
                    _members_table(fee=pa.array([float("nan"), float("inf"), 1.0, -2.0]))
                ),
            },
            good={"members": {"m1": {"fee": None}, "m3": {"fee": 1.0}}},
            bad={
                "members": {
                    ("members.parquet", 2): "is not a finite number",
                    ("members.parquet", 4): "negative",
                },
                "events": {
                    ("events.csv", 4): "was quarantined",
                    ("events.csv", 6): "was quarantined",
                },
                "exposures": {
                    ("exposures.csv", 3): "was quarantined",
                    ("exposures.csv", 5): "was quarantined",
                },
            },
        ),
        Case(
            "sentinel_and_ancient_timestamps",
            files={
                "members.csv": _members_with(
                    "m5,epoch,,organic,US,monthly,1",
                    "m6,-infinity,,organic,US,monthly,1",
                    "m7,0001-01-01,,organic,US,monthly,1",
                    "m8,0044-03-15 BC,,organic,US,monthly,1",
                    "m9,2024-02-30,,organic,US,monthly,1",
                    "m10,24/01/2024,,organic,US,monthly,1",
                )
            },
            good={"members": MEMBERS_GOOD},
            bad={
                "members": {
                    ("members.csv", 6): "is not a UTC timestamp",
                    ("members.csv", 7): "is not a UTC timestamp",
                    ("members.csv", 8): "outside the years",
                    ("members.csv", 9): "is not a UTC timestamp",
                    ("members.csv", 10): "is not a UTC timestamp",
                    ("members.csv", 11): "is not a UTC timestamp",
                }
            },
        ),
        Case(
            "parquet_typed_sentinel_timestamps",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members.parquet": _parquet(
                    _members_table(
                        signup_at=pa.array(
                            [
                                datetime(2024, 1, 1, tzinfo=UTC),
                                datetime(1, 1, 1, tzinfo=UTC),
                                datetime(2024, 1, 3, tzinfo=UTC),
                                datetime(1970, 1, 1, tzinfo=UTC),
                            ],
                            pa.timestamp("us", "UTC"),
                        )
                    )
                ),
                "events.csv": csv(EVENTS_HEADER, [EVENTS_ROWS[0], EVENTS_ROWS[3]]),
                "exposures.csv": None,  # type: ignore[dict-item]
            },
            good={"members": {"m1": {}, "m3": {}, "m4": {"signup_at": ts("1970-01-01T00:00:00Z")}}},
            bad={"members": {("members.parquet", 2): "outside the years"}},
        ),
        Case(
            "bom_and_numeric_looking_ids_stay_text",
            files={
                "members.csv": "\ufeff"
                + csv(
                    "member_id,signup_at",
                    ["0042,2024-01-01", "007,2024-01-02", "7,2024-01-03", "42,2024-01-04"],
                ),
                "events.csv": "\ufeff"
                + csv("member_id,ts,action", ["0042,2024-01-05,a", "7,2024-01-05,b"]),
                "exposures.csv": None,  # type: ignore[dict-item]
            },
            good={"members": {"0042": {}, "007": {}, "7": {}, "42": {}}},
        ),
        Case(
            "hive_partitions_gzip_and_upper_case_names_are_read",
            files={
                "events.csv": None,  # type: ignore[dict-item]
                "members.csv": None,  # type: ignore[dict-item]
                "Members.CSV": csv(MEMBERS_HEADER, MEMBERS_ROWS),
                "events/country=US/day=1/part-0.csv": csv(
                    "member_id,ts,action",
                    ["m1,2024-01-02,video.stream", "m3,2024-01-04,music.play"],
                ),
                "events/country=GB/day=1/part-0.csv.gz": gzip.compress(
                    csv("member_id,ts,action", ["m2,2024-01-03,video.stream"]).encode()
                ),
                "events/country=DE/day=2/part-0.csv.bz2": bz2.compress(
                    csv("member_id,ts,action,country", ["m4,2024-01-05,x,XX"]).encode()
                ),
                "events/_SUCCESS": "",
            },
            good={
                "members": MEMBERS_GOOD,
                "events": {
                    "m1": {"country": "US", "day": "1"},
                    "m2": {"country": "GB"},
                    "m3": {"country": "US"},
                    "m4": {"country": "XX", "day": "2"},
                },
            },
        ),
        Case(
            "spark_style_folder_named_like_a_file",
            files={
                "events.csv": None,  # type: ignore[dict-item]
                "events.csv/part-00000.csv": csv(EVENTS_HEADER, EVENTS_ROWS[:3]),
                "events.csv/part-00001.csv": csv(EVENTS_HEADER, EVENTS_ROWS[3:]),
            },
            good={"members": MEMBERS_GOOD, "events": {"m1": {}, "m2": {}, "m3": {}, "m4": {}}},
        ),
        Case(
            "broken_symlink_is_skipped_and_reported",
            make=_symlink("/nonexistent/exposures.csv", "exposures.csv"),
            good={"members": MEMBERS_GOOD},
            skipped=("exposures.csv",),
        ),
        Case(
            "symlink_loop_is_skipped_and_reported",
            make=_loop,
            good={"members": MEMBERS_GOOD},
            skipped=("exposures.csv",),
        ),
        Case(
            "device_in_part_folder_is_skipped",
            files={"events/part-0.csv": csv(EVENTS_HEADER, EVENTS_ROWS), "events.csv": None},  # type: ignore[dict-item]
            make=_symlink("/dev/zero", "events/part-1.csv"),
            good={"events": {"m1": {}, "m2": {}, "m3": {}, "m4": {}}},
            skipped=("events/part-1.csv",),
        ),
        Case(
            "unknown_files_are_reported",
            files={"notes.txt": "hello", "events.json": "[]"},
            good={"members": MEMBERS_GOOD},
            skipped=("notes.txt", "events.json"),
        ),
        Case(
            "every_member_row_bad_keeps_the_quarantine",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER,
                    ["m1,yesterday,,a,b,c,1", "m2,,,a,b,c,1", ",2024-01-01,,a,b,c,1"],
                )
            },
            bad={
                "members": {
                    ("members.csv", 2): "is not a UTC timestamp",
                    ("members.csv", 3): "signup_at is missing",
                    ("members.csv", 4): "member_id is missing",
                },
                "events": {
                    ("events.csv", 2): "was quarantined",
                    ("events.csv", 3): "was quarantined",
                    ("events.csv", 4): "was quarantined",
                    ("events.csv", 5): "not a known member",
                    ("events.csv", 6): "not a known member",
                },
                "exposures": {
                    ("exposures.csv", 2): "was quarantined",
                    ("exposures.csv", 3): "was quarantined",
                    ("exposures.csv", 4): "not a known member",
                    ("exposures.csv", 5): "not a known member",
                },
            },
            all_bad=True,
        ),
        Case(
            "quoted_newlines_and_blank_lines_keep_physical_line_numbers",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER,
                    [
                        'm1,2024-01-01T00:00:00Z,,"organic\nwith\nnewlines",US,monthly,9.99',
                        "",
                        'm2,2024-01-02T00:00:00Z,2024-03-01T00:00:00Z,paid,GB,"an ""annual"" plan",99',
                        "",
                        "",
                        "m3,not-a-date,,social,US,monthly,9.99",
                        'm4,2024-01-04T00:00:00Z,2024-06-01T00:00:00Z,"a,b",DE,monthly,0,extra',
                        "m5,2024-01-05,,x,y,z,1",
                    ],
                )
            },
            good={
                "members": {
                    "m1": {"channel": "organic\nwith\nnewlines"},
                    "m2": {"plan": 'an "annual" plan'},
                    "m5": {"signup_at": ts("2024-01-05T00:00:00Z")},
                }
            },
            bad={
                "members": {
                    ("members.csv", 9): "is not a UTC timestamp",
                    ("members.csv", 10): "expected 7 fields, found 8",
                },
                "events": {
                    ("events.csv", 5): "was quarantined",
                    ("events.csv", 6): "was quarantined",
                },
                "exposures": {
                    ("exposures.csv", 4): "was quarantined",
                    ("exposures.csv", 5): "was quarantined",
                },
            },
        ),
        Case(
            "blank_lines_and_crlf",
            files={
                "members.csv": (
                    MEMBERS_HEADER
                    + "\r\n\r\n"
                    + "\r\n".join(MEMBERS_ROWS)
                    + "\r\n\r\nm5,bad,,a,b,c,1\r\n"
                )
            },
            good={"members": MEMBERS_GOOD},
            bad={"members": {("members.csv", 8): "is not a UTC timestamp"}},
        ),
        Case(
            "duplicate_header_names_are_refused",
            files={"members.csv": "member_id,signup_at,plan,plan\nm1,2024-01-01,a,b\n"},
            error="names column(s) plan more than once",
        ),
        Case(
            "parquet_with_a_file_row_number_column",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members.parquet": _parquet(
                    _members_table(file_row_number=pa.array([10, 20, 30, 40]))
                ),
            },
            good={
                "members": {
                    "m1": {"file_row_number": 10},
                    "m2": {"file_row_number": 20},
                    "m3": {"file_row_number": 30},
                    "m4": {"file_row_number": 40},
                }
            },
        ),
        Case(
            "list_typed_member_id_is_refused",
            files={
                "members.csv": None,  # type: ignore[dict-item]
                "members.parquet": _parquet(
                    _members_table(member_id=pa.array([["a"], ["b"], ["c"], ["d"]]))
                ),
            },
            error="member_id is stored as VARCHAR[]",
        ),
        Case(
            "latin1_benefits_are_refused",
            files={"benefits.csv": "benefit,name\nvideo,Vid\xe9o\n".encode("latin-1")},
            error="benefits.csv: is not UTF-8 text",
        ),
        Case(
            "benefits_are_validated",
            files={
                "benefits.csv": "benefit,name,cost_per_use\nvideo,Video,-1\nvideo,Again,1\n,Nameless,1\nmusic,Music,1\n"
            },
            good={
                "members": MEMBERS_GOOD,
                "benefits": {"video": {"name": "Again"}, "music": {"name": "Music"}},
            },
            bad={
                "benefits": {
                    ("benefits.csv", 2): "negative",
                    ("benefits.csv", 4): "benefit is missing",
                }
            },
        ),
        Case(
            "whitespace_is_trimmed_and_nul_is_refused",
            files={
                "events.csv": csv(
                    EVENTS_HEADER,
                    [
                        " m1 ,2024-01-01T01:00:00Z, video.stream ,video,",
                        "m2,2024-01-02T05:00:00Z,vid\x00eo,video,",
                    ],
                )
            },
            good={"events": {"m1": {"action": "video.stream"}}},
            bad={"events": {("events.csv", 3): "NUL byte"}},
        ),
        Case(
            "value_rules_of_the_contract",
            files={
                "members.csv": _members_with("m5,2024-01-05,,organic,US,monthly,-9.99"),
                "events.csv": (
                    "member_id,ts,action,value,duration_s\n"
                    "m1,2024-01-02,a,-5,1\n"
                    "m1,2024-01-02,a,5,-1\n"
                    "m1,2024-01-02,a,5,1\n"
                ),
                "exposures.csv": (
                    "member_id,ts,experiment,variant,propensity\n"
                    "m1,2024-01-02,e,a,1.5\n"
                    "m2,2024-01-03,e,b,0.5\n"
                ),
            },
            good={"members": MEMBERS_GOOD, "events": {"m1": {"value": 5.0, "duration_s": 1.0}}},
            bad={
                "members": {("members.csv", 6): "fee '-9.99' is negative"},
                "events": {
                    ("events.csv", 2): "value '-5' is negative",
                    ("events.csv", 3): "duration_s '-1' is negative",
                },
                "exposures": {("exposures.csv", 2): "is above 1"},
            },
        ),
        Case(
            "null_spellings_in_ended_at",
            files={
                "members.csv": csv(
                    MEMBERS_HEADER,
                    [
                        "m1,2024-01-01,NULL,organic,US,monthly,1",
                        "m2,2024-01-02,NaN,organic,US,monthly,1",
                        "m3,2024-01-03,,organic,US,monthly,1",
                        'm4,2024-01-04,"",organic,NA,None,1',
                    ],
                )
            },
            good={
                "members": {
                    "m1": {"ended_at": None},
                    "m2": {"ended_at": None},
                    "m3": {"ended_at": None},
                    "m4": {"ended_at": None, "country": "NA", "plan": "None"},
                }
            },
        ),
        Case(
            "pre_signup_events_are_kept",
            files={
                "events.csv": csv(
                    EVENTS_HEADER,
                    [
                        "m3,2023-12-25T00:00:00Z,shop.browse,,",
                        "m3,2024-01-04T00:00:00Z,music.play,music,0",
                    ],
                )
            },
            good={"events": {"m3": {}}},
        ),
        Case(
            "rows_after_as_of_are_counted_per_row",
            files={
                "members.csv": _members_with(
                    "m5,2025-02-01,,organic,US,monthly,1",
                    "m6,2025-03-01,,organic,US,monthly,1",
                    "m7,2025-04-01,,organic,US,monthly,1",
                )
            },
            good={"members": MEMBERS_GOOD},
            bad={
                "members": {
                    ("members.csv", 6): "is after as_of",
                    ("members.csv", 7): "is after as_of",
                    ("members.csv", 8): "is after as_of",
                }
            },
        ),
        Case(
            "mixed_csv_and_parquet_parts",
            files={
                "members.csv": csv(MEMBERS_HEADER, MEMBERS_ROWS[:2]),
                "members.parquet": _parquet(
                    pa.table(
                        {
                            "member_id": ["m3", "m4"],
                            "signup_at": pa.array(
                                [ts("2024-01-03T12:00:00Z"), ts("2024-01-04T00:00:00Z")],
                                pa.timestamp("us", "UTC"),
                            ),
                            "fee": [9.99, 0.0],
                        }
                    )
                ),
            },
            good={
                "members": {
                    **MEMBERS_GOOD,
                    "m3": {"signup_at": ts("2024-01-03T12:00:00Z"), "fee": 9.99, "channel": None},
                    "m4": {"signup_at": ts("2024-01-04T00:00:00Z"), "ended_at": None},
                }
            },
        ),
        Case(
            "column_mapping",
            files={
                "members.csv": "user_id,joined,fee\nu1,2024-01-01,1\nu2,2024-01-02,2\n",
                "events.csv": "user_id,when,action\nu1,2024-01-03,a\nu2,2024-01-04,b\n",
                "exposures.csv": None,  # type: ignore[dict-item]
            },
            mapping="user_id=member_id,members.joined=signup_at,events.when=ts",
            good={"members": {"u1": {"fee": 1.0}, "u2": {}}, "events": {"u1": {}, "u2": {}}},
        ),
        Case(
            "missing_members_table",
            files={"members.csv": None},  # type: ignore[dict-item]
            error="has no members table",
        ),
        Case(
            "empty_members_file",
            files={"members.csv": ""},
            error="members.csv: is empty",
        ),
        Case(
            "header_only_members",
            files={"members.csv": MEMBERS_HEADER + "\n"},
            bad={
                "events": {("events.csv", k): "not a known member" for k in range(2, 7)},
                "exposures": {("exposures.csv", k): "not a known member" for k in range(2, 6)},
            },
            all_bad=True,
        ),
    ]
    return out
