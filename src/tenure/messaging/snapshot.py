"""Policy snapshots: versioned JSON files a server loads and ``tenure policy train`` writes.

A snapshot states its format version, the policy kind and its version string (written to
the log with every decision), and the policy's learned state. ``load_policy`` refuses a file
of another format or a newer format version with a message that says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tenure.errors import SpecError
from tenure.messaging.policies import Policy

__all__ = ["FORMAT", "FORMAT_VERSION", "load_policy", "read_snapshot", "write_snapshot"]

FORMAT = "tenure-policy"
FORMAT_VERSION = 1


def write_snapshot(path: str | Path, kind: str, state: dict[str, Any]) -> Path:
    """Write ``state`` as a snapshot of a ``kind`` policy."""
    p = Path(path)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": kind, **state}
    p.write_text(json.dumps(doc, indent=1, sort_keys=False), encoding="utf-8")
    return p


def read_snapshot(path: str | Path) -> dict[str, Any]:
    """The snapshot document at ``path``, checked for format and version."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"{p}: cannot read the policy snapshot ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"{p}: not a policy snapshot (invalid JSON: {exc.msg})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SpecError(f'{p}: not a policy snapshot (expected "format": "{FORMAT}")')
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SpecError(
            f"{p}: snapshot format_version {version!r} is newer than this Tenure reads "
            f"({FORMAT_VERSION}); upgrade Tenure"
        )
    return doc


def load_policy(path: str | Path) -> Policy:
    """The policy saved at ``path`` (uniform or Thompson sampling)."""
    doc = read_snapshot(path)
    kind = doc.get("kind")
    if kind == "uniform":
        from tenure.messaging.policies.uniform import UniformPolicy

        return UniformPolicy.from_snapshot(doc)
    if kind == "thompson":
        from tenure.messaging.policies.thompson import ThompsonPolicy

        return ThompsonPolicy.from_snapshot(doc)
    raise SpecError(f"{path}: unknown policy kind {kind!r} (expected uniform or thompson)")
