"""Find the files of each contract table in a dataset folder, and say what was skipped and why.

A table is ``NAME.csv``, ``NAME.csv.gz``, ``NAME.parquet`` (any letter case) at the top of
the folder, and/or a part folder ``NAME/`` (or ``NAME.csv/``, ``NAME.parquet/`` as Spark
writes them) holding part files at any depth. A hive-style path segment ``key=value``
inside a part folder adds the column ``key`` (text) to that part's rows when the file does
not have it, so partitioned exports lose nothing. Only regular files are read: a FIFO, a
device, a broken symbolic link or a symbolic-link loop is skipped and reported, never
opened (opening ``/dev/zero`` would never end).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tenure.errors import DataContractError
from tenure.schema import CONTRACTS

__all__ = ["FileKind", "SourceFile", "Sources", "find_sources"]

FileKind = Literal["csv", "parquet"]
_SUFFIXES: dict[str, FileKind] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".csv.bz2": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_FORMATS = ".csv, .csv.gz, .csv.bz2, .parquet"
# Files a tool writes beside its data; not worth a "skipped" line.
_QUIET = {"_SUCCESS", ".DS_Store", "truth.json", "truth_workarounds.json", "truth_abuse.json"}


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of one table: where it is, how to read it, and its hive partition values."""

    path: Path
    name: str
    """Path relative to the dataset folder: the ``file`` of every quarantined row."""
    kind: FileKind
    partition: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Sources:
    """The files found per table, and every entry of the folder that was not read, with why."""

    folder: Path
    tables: dict[str, list[SourceFile]]
    skipped: tuple[tuple[str, str], ...] = field(default=())


def _kind(name: str) -> tuple[str, FileKind] | None:
    """Split ``name`` into (stem, kind) when its suffix is a readable table format."""
    lower = name.lower()
    for suffix, kind in sorted(_SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return name[: -len(suffix)], kind
    return None


def _regular(path: Path) -> str | None:
    """Why `path` cannot be read as a data file, or None when it is a regular file."""
    try:
        mode = path.stat().st_mode  # follows symlinks: a loop or a dangling link raises
    except FileNotFoundError:
        return "a broken symbolic link" if path.is_symlink() else "vanished while reading"
    except OSError as exc:  # ELOOP, EACCES, …
        return f"cannot be opened ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None if os.access(path, os.R_OK) else "not readable (permission denied)"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file (a FIFO, socket or device)"


def _walk(root: Path, skipped: list[tuple[str, str]], base: Path) -> Iterator[Path]:
    """Every entry below `root` that is not a folder, sorted, without following link loops."""
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        skipped.append((str(root.relative_to(base)), f"cannot be listed ({exc.strerror})"))
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk(entry, skipped, base)
        else:
            yield entry


def find_sources(folder: Path) -> Sources:
    """The files of each contract table in `folder` (see the module docstring for the forms).

    Raises
    ------
    DataContractError
        When `folder` cannot be listed (missing or not readable).
    """
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError as exc:
        raise DataContractError(f"{folder} does not exist") from exc
    except NotADirectoryError as exc:
        raise DataContractError(f"{folder} is not a folder") from exc
    except PermissionError as exc:
        raise DataContractError(
            f"{folder} cannot be read (permission denied); check its permissions"
        ) from exc
    top: dict[str, list[SourceFile]] = {name: [] for name in CONTRACTS}
    parts: dict[str, list[SourceFile]] = {name: [] for name in CONTRACTS}
    skipped: list[tuple[str, str]] = []
    for entry in entries:
        rel = entry.name
        if rel in _QUIET or rel.startswith("."):
            continue
        split = _kind(rel)
        stem = (split[0] if split else rel).lower()
        if stem not in top:
            if rel.split(".")[0].lower() in top:
                skipped.append((rel, f"not a supported format ({_FORMATS})"))
            else:
                skipped.append((rel, f"not a contract table ({', '.join(CONTRACTS)})"))
            continue
        if entry.is_dir() and not entry.is_symlink():
            parts[stem] += _parts(entry, folder, skipped)
            continue
        why = _regular(entry)
        if why is not None:
            skipped.append((rel, why))
        elif split is None:
            skipped.append((rel, f"not a supported format ({_FORMATS})"))
        else:
            top[stem].append(SourceFile(entry, rel, split[1]))
    # Top-level files first, then part folders: "the first copy" of a duplicate is then
    # the one a reader of the folder meets first.
    tables = {name: top[name] + parts[name] for name in CONTRACTS if top[name] or parts[name]}
    return Sources(folder, tables, tuple(skipped))


def _parts(part_dir: Path, base: Path, skipped: list[tuple[str, str]]) -> list[SourceFile]:
    found = []
    for entry in _walk(part_dir, skipped, base):
        rel = str(entry.relative_to(base))
        if entry.name in _QUIET or entry.name.startswith((".", "_")):
            continue
        why = _regular(entry)
        split = _kind(entry.name)
        if why is not None:
            skipped.append((rel, why))
        elif split is None:
            skipped.append((rel, f"not a supported format ({_FORMATS})"))
        else:
            segments = entry.relative_to(part_dir).parts[:-1]
            pairs = (s.split("=", 1) for s in segments if "=" in s and not s.startswith("="))
            partition = tuple((key, value) for key, value in pairs)
            found.append(SourceFile(entry, rel, split[1], partition))
    return found
