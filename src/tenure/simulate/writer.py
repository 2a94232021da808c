"""The only module of `tenure.simulate` that touches files.

Parquet tables are appended one row group per chunk through `pyarrow.parquet.ParquetWriter`,
so memory stays bounded by a chunk. Writer options are fixed so the same world always gives
the same bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from tenure.simulate import catalogue as cat
from tenure.simulate import tables

FILES = {
    "members": "members.parquet",
    "events": "events.parquet",
    "exposures": "exposures.parquet",
    "benefits": "benefits.csv",
    "truth": "truth.json",
}


class WorldWriter:
    """Append-only writer of the three Parquet tables of a world folder.

    Use as a context manager; each ``write`` appends one row group per table.
    """

    def __init__(self, out_dir: Path, events_schema: pa.Schema = tables.EVENTS_SCHEMA) -> None:
        self.out_dir = out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        opts = {"compression": "zstd", "compression_level": 1, "write_statistics": True}
        self._writers = {
            "members": pq.ParquetWriter(out_dir / FILES["members"], tables.MEMBERS_SCHEMA, **opts),
            "events": pq.ParquetWriter(out_dir / FILES["events"], events_schema, **opts),
            "exposures": pq.ParquetWriter(
                out_dir / FILES["exposures"], tables.EXPOSURES_SCHEMA, **opts
            ),
        }

    def write(self, name: str, table: pa.Table) -> None:
        """Append `table` to table `name` as a single row group."""
        self._writers[name].write_table(table, row_group_size=max(table.num_rows, 1))

    def close(self) -> None:
        """Finish the Parquet footers."""
        for w in self._writers.values():
            w.close()

    def __enter__(self) -> WorldWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_benefits(path: Path, benefit_labels: str = "mixed") -> None:
    """Write the benefit catalogue: ``benefit,name,cost_per_use,template``.

    When every event is a benefit (``benefit_labels="all"``) the ``app`` benefit is listed too.
    """
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["benefit", "name", "cost_per_use", "template"])
        if benefit_labels == "all":
            w.writerow([tables.APP_BENEFIT, "The app", "0.00", "You opened the app {n} times"])
        for a in cat.ACTIONS:
            w.writerow([a.benefit, a.name, f"{a.cost_per_use:.2f}", a.template])
