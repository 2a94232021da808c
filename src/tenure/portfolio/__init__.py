"""The portfolio view: product lines × geographies × segments, and where to invest next.

::

    from tenure.portfolio import portfolio_view
    view = portfolio_view(connect("world/"), activation=("shipping.order",), activation_effect=0.05)
    view.ranked().head()

Each cell (a plan in a country, cut by a segment) gets its retention KPI, its high-value-action
adoption, the experiments that ran in it with their market-level result pooled across markets
by random effects, and an *investment score*: the members it would keep if its HVA adoption
rose to the target, in monthly fees. Counts come from one Ibis aggregation over
:func:`tenure.lifecycle.member_stages`; the arithmetic is numpy.
"""

from __future__ import annotations

from tenure.portfolio.view import (
    ExperimentEvidence,
    PortfolioResult,
    experiment_evidence,
    portfolio_view,
)

__all__ = ["ExperimentEvidence", "PortfolioResult", "experiment_evidence", "portfolio_view"]
