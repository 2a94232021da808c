"""`simulate_world`: draw a world chunk by chunk, write it, and compute its truth."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tenure.simulate import tables
from tenure.simulate.cohort import STREAM_EVENTS, simulate_cohort, stream
from tenure.simulate.config import WorldConfig
from tenure.simulate.events import cohort_events
from tenure.simulate.truth import TruthTallies, add_cohort
from tenure.simulate.truth_json import truth_document, write_truth
from tenure.simulate.writer import FILES, WorldWriter, write_benefits

Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class SimulationSummary:
    """What `simulate_world` wrote, and how long it took."""

    members: int
    events: int
    exposures: int
    seconds: float
    out_dir: Path
    members_path: Path
    events_path: Path
    exposures_path: Path
    benefits_path: Path
    truth_path: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (paths as strings)."""
        return {
            "members": self.members,
            "events": self.events,
            "exposures": self.exposures,
            "seconds": round(self.seconds, 3),
            "out_dir": str(self.out_dir),
            "paths": {
                "members": str(self.members_path),
                "events": str(self.events_path),
                "exposures": str(self.exposures_path),
                "benefits": str(self.benefits_path),
                "truth": str(self.truth_path),
            },
        }


def simulate_world(
    out_dir: Path,
    config: WorldConfig = WorldConfig(n_members=100_000, seed=7),  # noqa: B008
    progress: Progress | None = None,
) -> SimulationSummary:
    """Simulate a truth-known subscription world and write it to `out_dir`.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder to create or overwrite: ``members.parquet``, ``events.parquet``,
        ``exposures.parquet``, ``benefits.csv`` and ``truth.json``.
    config : WorldConfig
        Size, seed and calendar. The same config gives byte-identical files.
    progress : callable, optional
        Called as ``progress(step_name, fraction_done)`` after each chunk.

    Returns
    -------
    SimulationSummary

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     s = simulate_world(Path(d), WorldConfig(n_members=2_000, seed=1))
    >>> s.members
    2000
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    truth = TruthTallies(config.horizons_days)
    width = tables.id_width(config.n_members)
    n_events = n_exposures = 0
    schema = tables.events_schema(config.benefit_labels)
    members_parts: list[pa.Table] = []
    with WorldWriter(out_dir, schema) as w:
        for k in range(config.n_chunks):
            cohort = simulate_cohort(config, k)
            ids = tables.member_ids(cohort.offset, len(cohort), width)
            members = tables.members_table(cohort, ids, config.as_of_us)
            w.write("members", members)
            if config.product_bets:
                members_parts.append(members)
            exposures = tables.exposures_table(cohort, ids, config.as_of_us)
            w.write("exposures", exposures)
            n_exposures += exposures.num_rows
            events = cohort_events(cohort, stream(config, k, STREAM_EVENTS), config.start_us)
            n_events += len(events)
            w.write("events", tables.events_table(events, ids, config.benefit_labels))
            del events
            add_cohort(config, cohort, truth)
            if progress is not None:
                progress("simulate", (k + 1) / config.n_chunks)
        if config.product_bets:  # the planted workaround and pilot (issue 14)
            from tenure.simulate.abuse import plant_abuse
            from tenure.simulate.workarounds import plant_workarounds

            everyone = pa.concat_tables(members_parts)
            flows = plant_workarounds(out_dir, config, schema, everyone)
            # Appended as row groups of their own: the base events are never read back.
            w.write("events", flows)
            pays, pilot = plant_abuse(out_dir, config, schema, everyone)
            w.write("events", pays)
            n_events += flows.num_rows + pays.num_rows
            n_exposures += pilot.num_rows
    if config.product_bets:
        from tenure.simulate.abuse import add_pilot_exposures

        add_pilot_exposures(out_dir, pilot)
    write_benefits(out_dir / FILES["benefits"], config.benefit_labels)
    write_truth(out_dir / FILES["truth"], truth_document(config, truth))
    if progress is not None:
        progress("truth", 1.0)
    return SimulationSummary(
        members=config.n_members,
        events=n_events,
        exposures=n_exposures,
        seconds=time.perf_counter() - t0,
        out_dir=out_dir,
        members_path=out_dir / FILES["members"],
        events_path=out_dir / FILES["events"],
        exposures_path=out_dir / FILES["exposures"],
        benefits_path=out_dir / FILES["benefits"],
        truth_path=out_dir / FILES["truth"],
    )
