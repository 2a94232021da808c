"""Remember folders whose files passed the contract checks, so an unchanged folder is not re-read.

``connect(folder)`` runs every contract rule over every row before an analysis (tens of CPU
seconds at a million members). Re-running an analysis on the same files need not pay that
again: after a folder passes, a small record is written under the cache folder, and the
next ``connect`` with the same key uses it instead of checking.

The key is a hash of everything the verdict depends on:

* every file of every table: its resolved path, size, modification time and status-change
  time (both in nanoseconds), inode and device. Any write to a file changes its mtime and
  ctime; resetting the mtime (``touch -d``, ``os.utime``) changes the ctime, which a user
  cannot set; replacing a file (a copy, ``mv``) changes the inode. A file added to or
  removed from the folder changes the list of files;
* the generated check SQL of each table (the contract's rules, the column names and types
  the files have, the column mapping applied), so a change to the rules, to Tenure's
  checking code or to the files' schemas is a different key;
* the Tenure version and this record's format.

A file changed within `RACY_SECONDS` before the check is not recorded: file times tick
coarsely (a few milliseconds), so a second write in the same tick as the first, of the
same size, would otherwise look unchanged (git's "racily clean" files have the same cure).

A record also holds the ``as_of`` bound it was checked against and is used only for a
bound at or after it: "no timestamp after as_of" that held for an earlier bound holds for
a later one, not the reverse. Only passing folders are recorded (a refused folder is
checked every time), and the record keeps which columns needed cleaning, so the typed
views are the ones a full check would build.

The cache folder is ``$TENURE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/tenure`` or
``~/.cache/tenure``; ``TENURE_CHECK_CACHE=0`` turns the cache off. A record is trusted
as written: anyone who can write the cache folder can vouch for a folder, as the same
user could edit the data itself. An unwritable cache folder only means no record is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["Verified", "cache_folder", "verified_for"]

FORMAT = 1
RACY_SECONDS = 2.0
"""A folder with a file changed this recently is checked but not recorded."""


def _version() -> str:
    """Tenure's installed version (not imported from the package: `tenure` imports this)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tenure")
    except PackageNotFoundError:
        return "unknown"


def cache_folder() -> Path | None:
    """Where records are kept, or None when the cache is turned off."""
    if os.environ.get("TENURE_CHECK_CACHE", "1").strip().lower() in ("0", "off", "no", "false"):
        return None
    if os.environ.get("TENURE_CACHE_DIR"):
        return Path(os.environ["TENURE_CACHE_DIR"]) / "verified"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tenure" / "verified"


def file_identity(path: Path) -> tuple[str, int, int, int, int, int]:
    """What says a file is the one checked: path, size, mtime/ctime (ns), inode, device."""
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


@dataclass(frozen=True)
class Verified:
    """The record of one folder's check: where it lives, and the key it was made under."""

    path: Path
    key: str
    racy: bool = False
    """A file changed within `RACY_SECONDS` of the check: `remember` writes nothing."""

    def lookup(self, bound: datetime) -> dict[str, frozenset[str]] | None:
        """Columns needing cleaning per table when the folder passed for a bound ≤ `bound`."""
        try:
            record = json.loads(self.path.read_text())
            checked = datetime.fromisoformat(record["bound"])
            if record.get("key") != self.key or checked > bound:
                return None
            return {t: frozenset(cols) for t, cols in record["dirty"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remember(self, bound: datetime, dirty: Mapping[str, Iterable[str]]) -> None:
        """Record that the folder passed for `bound` (silently nothing when unwritable)."""
        if self.racy:
            return
        record = {
            "key": self.key,
            "bound": bound.isoformat(),
            "dirty": {t: sorted(cols) for t, cols in dirty.items()},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                json.dump(record, fh)
            os.replace(tmp, self.path)
        except OSError:
            return


def verified_for(files: Mapping[str, Iterable[Path]], rules: Mapping[str, str]) -> Verified | None:
    """The record for these files (per table) and check SQL (per table), or None when off.

    None too when a file cannot be stat'ed (it vanished): the folder is then checked.
    """
    folder = cache_folder()
    if folder is None:
        return None
    try:
        identity = {t: [file_identity(p) for p in paths] for t, paths in files.items()}
    except OSError:
        return None
    text = json.dumps(
        {"format": FORMAT, "version": _version(), "files": identity, "rules": dict(rules)},
        sort_keys=True,
    )
    key = hashlib.sha256(text.encode()).hexdigest()
    changed = max((max(f[2], f[3]) for fs in identity.values() for f in fs), default=0)
    racy = time.time_ns() - changed < RACY_SECONDS * 1e9
    return Verified(folder / f"{key[:32]}.json", key, racy)
