"""How a step is recognised as export-like, an exit, a return, or one that brings something back.

A workaround is *export-like step → exit → (any way back in) → a step that brings something
back*. Tenure recognises the parts as follows, and says so in every result's ``params``:

- **Names.** An action's name is split into tokens at ``.``, ``_``, ``-``, ``/``, ``:`` and
  spaces; a token in :data:`DEFAULT_EXPORT` (download, export, copy, save, …) makes the step
  export-like, one in :data:`DEFAULT_BRING_BACK` (upload, import, paste, attach, …) makes it
  bring something back, one in :data:`DEFAULT_EXIT` (background, close, exit, …) makes it an
  exit, one in :data:`DEFAULT_RETURN` (foreground, resume) marks the return from an exit.
- **Gaps and sessions.** An exit is also a change of ``session_id`` between two events (when
  the events table has that column; else a gap of at least ``session_gap`` seconds) or a gap
  of at least ``exit_gap`` seconds inside a session. The three kinds are one ``<exit>`` step;
  which kind occurred is reported as the pattern's variants.
- **A mapping the user sets.** :meth:`StepRoles.load` reads a YAML (or JSON) file with any of
  the keys ``export``, ``bring_back``, ``exit``, ``return``: lists of exact action names,
  which are added to what the name rules find, and ``ignore``: names never given a role.
  ``tokens: false`` turns the name rules off so only the mapping counts.

The ``value`` column is not used: in the data contract it carries money saved, not content.
``duration_s``, when present, is added to the time of the step that ends an occurrence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenure.errors import SpecError

__all__ = [
    "DEFAULT_BRING_BACK",
    "DEFAULT_EXIT",
    "DEFAULT_EXPORT",
    "DEFAULT_RETURN",
    "EXIT",
    "StepRoles",
]

EXIT = "<exit>"
DEFAULT_EXPORT = frozenset(
    {"download", "export", "copy", "save", "screenshot", "print", "extract", "cut"}
)
DEFAULT_BRING_BACK = frozenset(
    {"upload", "import", "paste", "attach", "insert", "restore", "reupload", "drop"}
)
DEFAULT_EXIT = frozenset({"background", "close", "exit", "leave", "quit", "suspend", "logout"})
DEFAULT_RETURN = frozenset({"foreground", "resume"})
_SPLIT = re.compile(r"[._\-/: ]+")
_KEYS = ("export", "bring_back", "exit", "return", "ignore", "tokens")


def _tokens(action: str) -> set[str]:
    return {t for t in _SPLIT.split(action.lower()) if t}


@dataclass(frozen=True)
class StepRoles:
    """Which actions play which part in a workaround (see the module docstring).

    Parameters
    ----------
    export, bring_back, exit, return_ : collection of str
        Exact action names given the role, on top of the name rules.
    ignore : collection of str
        Action names never given a role.
    tokens : bool
        Apply the default name rules (token sets ``DEFAULT_*``).

    Examples
    --------
    >>> r = StepRoles()
    >>> r.role("video.download"), r.role("doc_import"), r.role("app.background"), r.role("feed.browse")
    ('export', 'bring_back', 'exit', None)
    >>> StepRoles(bring_back={"reel.publish"}).role("reel.publish")
    'bring_back'
    """

    export: frozenset[str] = field(default_factory=frozenset)
    bring_back: frozenset[str] = field(default_factory=frozenset)
    exit: frozenset[str] = field(default_factory=frozenset)
    return_: frozenset[str] = field(default_factory=frozenset)
    ignore: frozenset[str] = field(default_factory=frozenset)
    tokens: bool = True
    source: str = "default name rules"

    def __post_init__(self) -> None:
        for name in ("export", "bring_back", "exit", "return_", "ignore"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, source: str = "mapping") -> StepRoles:
        """Build from a mapping of role lists.

        Keys: ``export``, ``bring_back``, ``exit``, ``return``, ``ignore`` (lists of action
        names) and ``tokens`` (bool).
        """
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise SpecError(
                f"{source}: unknown key {unknown[0]!r} (expected one of {', '.join(_KEYS)})"
            )
        lists: dict[str, frozenset[str]] = {}
        for key in ("export", "bring_back", "exit", "return", "ignore"):
            value = data.get(key, [])
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise SpecError(f"{source}: {key} must be a list of action names")
            names = list(value)
            if not all(isinstance(v, str) and v for v in names):
                raise SpecError(f"{source}: {key} must hold non-empty action names")
            lists[key] = frozenset(names)
        tokens = data.get("tokens", True)
        if not isinstance(tokens, bool):
            raise SpecError(f"{source}: tokens must be true or false")
        return cls(
            export=lists["export"],
            bring_back=lists["bring_back"],
            exit=lists["exit"],
            return_=lists["return"],
            ignore=lists["ignore"],
            tokens=tokens,
            source=source if not tokens else f"default name rules + {source}",
        )

    @classmethod
    def load(cls, path: str | Path) -> StepRoles:
        """Read a role mapping from a YAML or JSON file; errors name the file and the key."""
        p = Path(path)
        if not p.is_file():
            raise SpecError(f"--roles {p}: no such file")
        try:
            text = p.read_text(encoding="utf-8")
            data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise SpecError(f"{p}: cannot parse the role mapping ({exc})") from exc
        if not isinstance(data, Mapping):
            raise SpecError(f"{p}: a role mapping is a mapping of role → list of action names")
        return cls.from_mapping(data, source=str(p))

    def role(self, action: str) -> str | None:
        """``"export"``, ``"bring_back"``, ``"exit"``, ``"return"`` or ``None``."""
        if action in self.ignore:
            return None
        for role, names in (
            ("exit", self.exit),
            ("return", self.return_),
            ("bring_back", self.bring_back),
            ("export", self.export),
        ):
            if action in names:
                return role
        if not self.tokens:
            return None
        tok = _tokens(action)
        for role, words in (
            ("exit", DEFAULT_EXIT),
            ("return", DEFAULT_RETURN),
            ("bring_back", DEFAULT_BRING_BACK),
            ("export", DEFAULT_EXPORT),
        ):
            if tok & words:
                return role
        return None

    def describe(self) -> dict[str, Any]:
        """The recognition rules as a JSON-ready mapping (recorded in ``params``)."""
        return {
            "source": self.source,
            "name_tokens": {
                "export": sorted(DEFAULT_EXPORT),
                "bring_back": sorted(DEFAULT_BRING_BACK),
                "exit": sorted(DEFAULT_EXIT),
                "return": sorted(DEFAULT_RETURN),
            }
            if self.tokens
            else None,
            "export": sorted(self.export),
            "bring_back": sorted(self.bring_back),
            "exit": sorted(self.exit),
            "return": sorted(self.return_),
            "ignore": sorted(self.ignore),
            "value_column": "not used (money saved in the contract)",
        }
