"""Column mapping: read files whose columns are not named as the contract names them.

A mapping renames input columns to contract columns before anything is checked. It is
written inline, ``user_id=member_id,event_time=ts`` (every table) or
``events.user_id=member_id`` (one table), or as a small YAML file, either flat
(``user_id: member_id``) or per table (``events: {user_id: member_id}``).

::

    >>> parse_mapping("user_id=member_id,events.when=ts").for_table("events")
    {'user_id': 'member_id', 'when': 'ts'}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tenure.errors import DataContractError
from tenure.schema import CONTRACTS

__all__ = ["ColumnMap", "load_yaml_strict", "parse_mapping"]

_ALL = "*"


@dataclass(frozen=True)
class ColumnMap:
    """Input column -> contract column, for every table (``*``) and per table."""

    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_table(self, table: str) -> dict[str, str]:
        """The renames that apply to `table` (its own ones win over the every-table ones)."""
        return {**self.renames.get(_ALL, {}), **self.renames.get(table, {})}

    def __bool__(self) -> bool:
        return any(self.renames.values())


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice instead of keeping the last value."""


def _mapping_no_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise DataContractError(
                f"key {key!r} is written twice (line {key_node.start_mark.line + 1}); keep one",
                line=key_node.start_mark.line + 1,
            )
        seen[key] = loader.construct_object(value_node)
    return seen


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _mapping_no_duplicates,
)


def load_yaml_strict(path: str | Path) -> Any:
    """Load YAML from `path`, refusing duplicate keys and non-UTF-8 text with clear errors."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataContractError("is not UTF-8 text; re-save it as UTF-8", file=str(p)) from exc
    except OSError as exc:
        raise DataContractError(f"cannot be read ({exc.strerror})", file=str(p)) from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except DataContractError as exc:
        raise DataContractError(exc.reason, file=str(p), line=exc.line) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataContractError(f"is not valid YAML ({problem})", file=str(p), line=line) from exc


def _check_target(table: str, source: str, target: str) -> None:
    tables = list(CONTRACTS) if table == _ALL else [table]
    if table != _ALL and table not in CONTRACTS:
        raise DataContractError(
            f"--map: {table!r} is not a table (expected {', '.join(CONTRACTS)})"
        )
    known = {c.name for t in tables for c in CONTRACTS[t].columns}
    if target not in known:
        raise DataContractError(
            f"--map {source}={target}: {target!r} is not a contract column "
            f"(expected one of {', '.join(sorted(known))})"
        )


def parse_mapping(spec: str | Mapping[str, Any] | None) -> ColumnMap:
    """A `ColumnMap` from inline text, a YAML file path, or an already-loaded mapping."""
    if spec is None or spec == "":
        return ColumnMap()
    if isinstance(spec, str):
        if spec.lower().endswith((".yaml", ".yml")) or Path(spec).is_file():
            loaded = load_yaml_strict(spec)
            if not isinstance(loaded, dict):
                raise DataContractError(
                    "must be a mapping of source column: contract column", file=spec
                )
            return parse_mapping(loaded)
        pairs: dict[str, dict[str, str]] = {}
        for item in (p.strip() for p in spec.split(",")):
            if not item:
                continue
            if item.count("=") != 1:
                raise DataContractError(
                    f"--map: {item!r} is not source=contract (e.g. user_id=member_id)"
                )
            left, target = (s.strip() for s in item.split("="))
            table, _, source = left.rpartition(".") if "." in left else (_ALL, "", left)
            pairs.setdefault(table or _ALL, {})[source] = target
        return parse_mapping(pairs)
    renames: dict[str, dict[str, str]] = {}
    for key, value in spec.items():
        items: list[tuple[Any, Any]]
        if isinstance(value, Mapping):
            table, items = str(key), list(value.items())
        else:
            table, items = _ALL, [(key, value)]
        for source, target in items:
            if not isinstance(target, str) or not str(source):
                raise DataContractError(
                    f"--map: {source!r} must map to a contract column name, got {target!r}"
                )
            _check_target(table, str(source), target)
            renames.setdefault(table, {})[str(source)] = target
    return ColumnMap(renames)
