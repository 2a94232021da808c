"""Creatives: one message × image × call to action, shown at one placement.

A creative is the unit a policy chooses and the ``variant`` written to the exposures log, so
its ``id`` is stable (built from its parts) and unique within a catalogue. Creatives are
*factorised*: a policy models a creative's value from its parts and their interactions with
the context, so hundreds of combinations learn from what a few dozen parts have in common.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from tenure.errors import SpecError

if TYPE_CHECKING:
    from tenure.messaging.recap import ValueRecap

__all__ = ["PERSONAL_PLACEHOLDERS", "PLACEHOLDERS", "Creative", "creative_id", "render_text"]

PLACEHOLDERS = ("benefit", "saved_7d", "saved_30d", "count", "plan_benefits")
"""The names a message template may use."""
PERSONAL_PLACEHOLDERS = frozenset({"saved_7d", "saved_30d", "count"})
"""Placeholders that need the member's own usage: such a message needs a value recap."""


@dataclass(frozen=True, slots=True)
class Creative:
    """One creative of the catalogue.

    Parameters
    ----------
    id : str
        ``placement:message:image:cta``; the ``variant`` in the exposures log.
    message, image, cta : str
        Ids of the three parts (the factors a policy learns from).
    placement : str
        Where it is shown (``signup``, ``in_context``, ``cancel_flow``, ``email``, ``home``).
    benefit : str
        The benefit (or offer) it promotes.
    template : str
        The message text with placeholders; see :func:`render_text`.
    frame : str
        ``value`` (what the member gets or saved), ``feature`` or ``discount``.
    cta_text : str
        The call to action's label.
    benefit_name : str
        The benefit's display name, for ``{benefit}``.
    """

    id: str
    message: str
    image: str
    cta: str
    placement: str
    benefit: str
    template: str = ""
    frame: str = "feature"
    cta_text: str = ""
    benefit_name: str = ""

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholder names its template uses."""
        return template_fields(self.template)

    @property
    def personal(self) -> bool:
        """Whether its text needs the member's own usage or savings."""
        return bool(self.placeholders & PERSONAL_PLACEHOLDERS)


def creative_id(placement: str, message: str, image: str, cta: str) -> str:
    """The stable id of a creative, built from its parts."""
    return f"{placement}:{message}:{image}:{cta}"


@lru_cache(maxsize=4096)
def template_fields(template: str) -> frozenset[str]:
    """Placeholder names in a ``str.format`` template."""
    return frozenset(f for _, f, _, _ in string.Formatter().parse(template) if f)


def render_text(creative: Creative, recap: ValueRecap | None = None) -> str:
    """The creative's message with its placeholders filled from the member's value recap.

    A personal placeholder (``{saved_30d}``, ``{count}``…) needs a recap; without one the
    call fails rather than print a wrong figure (eligibility excludes such creatives for
    unknown members, so a server never gets here with ``None``).

    Examples
    --------
    >>> c = Creative("signup:m:i:c", "m", "i", "c", "signup", "video",
    ...              template="New this week on {benefit}", benefit_name="Video streaming")
    >>> render_text(c)
    'New this week on Video streaming'
    """
    values: dict[str, str] = {"benefit": creative.benefit_name or creative.benefit}
    if recap is not None:
        values.update(_recap_values(recap))
    missing = creative.placeholders - values.keys()
    if missing:
        raise SpecError(
            f"creative {creative.id}: placeholder(s) {sorted(missing)} need a value recap "
            "of a known member"
        )
    return creative.template.format_map(values)


def _recap_values(recap: ValueRecap) -> Mapping[str, str]:
    return {
        "saved_7d": f"{recap.saved_7d:.2f}",
        "saved_30d": f"{recap.saved_30d:.2f}",
        "count": str(len(recap.benefits_used)),
        "plan_benefits": str(recap.plan_benefits),
    }
