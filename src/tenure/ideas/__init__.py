"""Ideas as hypotheses: PR/FAQ Markdown files whose status comes from experiment verdicts.

::

    from tenure.ideas import evaluate_ideas, load_ideas
    load_ideas("ideas/")                                        # every idea, untested
    evaluate_ideas(connect("world/"), "ideas/", "experiments/")  # status from the verdicts

:mod:`~tenure.ideas.spec` validates a file, :mod:`~tenure.ideas.status` states how verdicts
become evidence and a status, :mod:`~tenure.ideas.template` is what ``tenure ideas new``
writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tenure.errors import SpecError
from tenure.ideas.result import Idea, IdeasResult
from tenure.ideas.spec import LIFECYCLE_STAGES, NAME_PATTERN, IdeaSpec, load_idea
from tenure.ideas.status import STATUSES, Evidence, combine, evidence_of
from tenure.ideas.template import template

if TYPE_CHECKING:
    from tenure.store import Dataset

__all__ = [
    "LIFECYCLE_STAGES",
    "STATUSES",
    "Evidence",
    "Idea",
    "IdeaSpec",
    "IdeasResult",
    "VerdictLike",
    "evaluate_ideas",
    "load_ideas",
    "new_idea",
]


class VerdictLike(Protocol):
    """What an idea reads from a verdict (:class:`tenure.experiments.Verdict` has it)."""

    @property
    def variant(self) -> str:
        """The arm the verdict is about."""
        ...

    @property
    def decision(self) -> str:
        """``ship``, ``do_not_ship``, ``keep_running`` or ``investigate``."""
        ...

    @property
    def reason(self) -> str:
        """Why, in one sentence."""
        ...


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SpecError(
            f"{folder}: no such folder of ideas (create it with `tenure ideas new NAME`)"
        )
    return sorted(p for p in folder.glob("*.md") if p.name.lower() != "readme.md")


def load_ideas(
    folder: str | Path,
    *,
    verdicts: Mapping[str, Sequence[VerdictLike]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> IdeasResult:
    """Validate every ``*.md`` idea in `folder` and give each its evidence status.

    Parameters
    ----------
    folder
        A folder of idea files (``README.md`` is skipped).
    verdicts
        Experiment name → its verdicts (from :func:`tenure.experiments.analyze`, or a pilot
        read-out). A linked experiment missing here is evidence "untested".
    notes
        Experiment name → why it has no verdicts (recorded in the evidence).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from tenure.experiments import Verdict
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = new_idea(Path(d), "recap_first")
    ...     text = (Path(d) / "recap_first.md").read_text().replace("experiments: []", "experiments: [cancel_flow_recap]")
    ...     _ = (Path(d) / "recap_first.md").write_text(text)
    ...     before = load_ideas(d).ideas[0].status
    ...     after = load_ideas(d, verdicts={"cancel_flow_recap": [Verdict("recap", "ship", "wins", True)]})
    >>> before, after.ideas[0].status
    ('untested', 'supported')
    """
    root = Path(folder)
    verdicts = verdicts or {}
    notes = notes or {}
    ideas: list[Idea] = []
    seen: dict[str, str] = {}
    for path in _files(root):
        spec = load_idea(path)
        if spec.name in seen:
            raise SpecError(f"{path}: name: {spec.name!r} is also used by {seen[spec.name]}")
        seen[spec.name] = str(path)
        pieces: list[Evidence] = []
        for experiment, variant in spec.links:
            found = [v for v in verdicts.get(experiment, ()) if variant in (None, v.variant)]
            if not found:
                why = notes.get(experiment, "no verdict yet (not analysed, or no exposures)")
                if experiment in verdicts and variant is not None:
                    why = f"the experiment has no variant {variant!r}"
                pieces.append(Evidence(experiment, variant, None, why, "untested"))
                continue
            pieces.extend(evidence_of(experiment, v.variant, v.decision, v.reason) for v in found)
        ideas.append(Idea(spec, str(path), combine(pieces), tuple(pieces)))
    return IdeasResult(
        tuple(ideas),
        {"folder": str(root), "evaluated": sorted(verdicts), "rules": "tenure.ideas.status"},
    )


def evaluate_ideas(
    dataset: Dataset,
    folder: str | Path,
    experiments: str | Path = "experiments",
    *,
    extra: Mapping[str, Sequence[VerdictLike]] | None = None,
) -> IdeasResult:
    """Analyse every experiment the ideas link (specs from `experiments`) and load the ideas.

    ``extra`` adds verdicts computed elsewhere (e.g. a pilot's read-out), by name.
    """
    from tenure.experiments import analyze, load_specs

    linked = {name for p in _files(Path(folder)) for name, _ in load_idea(p).links}
    specs = {s.name: s for s in load_specs(experiments)} if Path(experiments).is_dir() else {}
    verdicts: dict[str, Sequence[VerdictLike]] = dict(extra or {})
    notes: dict[str, str] = {}
    for name in sorted(linked):
        if name in verdicts:
            continue
        if name not in specs:
            notes[name] = f"no spec named {name!r} in {experiments}"
            continue
        verdicts[name] = analyze(dataset, specs[name]).verdicts
    result = load_ideas(folder, verdicts=verdicts, notes=notes)
    return IdeasResult(result.ideas, {**result.params, "experiments": str(experiments)})


def new_idea(folder: str | Path, name: str) -> Path:
    """Write the PR/FAQ template for `name` into `folder` (refusing to overwrite)."""
    if not NAME_PATTERN.match(name):
        raise SpecError(
            f"NAME {name!r}: use lower-case letters, digits, '_' or '-' (it names the file)"
        )
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.md"
    if path.exists():
        raise SpecError(f"{path} already exists; pick another NAME or edit that file")
    path.write_text(template(name), encoding="utf-8")
    return path
