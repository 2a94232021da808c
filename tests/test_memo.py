"""The memo: numbers with intervals, skipped steps as open questions, Markdown and HTML."""

from __future__ import annotations

import numpy as np

from tenure.lifecycle import STAGES, LifecycleResult, wilson_interval
from tenure.report.memo import Memo, build_memo, memo_html


def _funnel(reached: list[int], eligible: list[int], alpha: float = 0.05) -> LifecycleResult:
    k, n = np.array(reached, dtype=np.int64), np.array(eligible, dtype=np.int64)
    lo, hi = wilson_interval(k, n, alpha=alpha)
    return LifecycleResult(
        dimension=("all",) * 6 + ("market",) * 6,
        group=("all",) * 6 + ("DE",) * 6,
        stage=STAGES * 2,
        eligible=np.concatenate([n, n // 100]),
        reached=np.concatenate([k, k // 100]),
        rate=np.concatenate([k / n, k / n]),
        ci_low=np.concatenate([lo, lo]),
        ci_high=np.concatenate([hi, hi]),
        metric_name=("m",) * 12,
        metric_value=np.zeros(12),
        small=np.concatenate([n < 30, n // 100 < 30]),
        params={"alpha": alpha, "window_days": 7, "save_days": 30, "min_n": 30},
    )


def test_memo_states_rates_with_their_intervals_and_coverage() -> None:
    funnel = _funnel([1000, 700, 600, 650, 200, 150], [1000, 1000, 900, 900, 1000, 180], 0.1)
    memo = build_memo(lifecycle=funnel, source="my data")
    text = " ".join(memo.learned)
    lo, hi = wilson_interval([700], [1000], alpha=0.1)
    assert "70.0% of new members use a high-value action in their first 7 days" in text
    assert f"90% interval [{lo[0]:.1%}, {hi[0]:.1%}]" in text  # coverage from the result
    assert "83.3% of members who open the cancel flow" in text  # 150 / 180 saved
    assert any("fewer than 30 members" in r for r in memo.risks)  # the small DE cells
    assert memo.decisions == ("No decision is ready: no experiment was read.",)


def test_skipped_steps_become_open_questions() -> None:
    memo = build_memo(skipped={"experiments": "the dataset has no exposures table"})
    assert memo.questions == ("experiments did not run: the dataset has no exposures table.",)


def test_markdown_and_html_have_the_five_parts_and_escape_once() -> None:
    memo = Memo("T", "Data: x.", ("R&D <up>",), ("ship",), (), ("why?",))
    md = memo.to_markdown()
    assert md.splitlines()[0] == "# T"
    for heading in ("What we learned", "The decision", "Risks", "Open questions"):
        assert f"## {heading}" in md
    assert "- R&D <up>" in md and "- Nothing to report." in md  # empty risks said so
    page = memo_html(memo)
    assert "R&amp;D &lt;up&gt;" in page and "&amp;amp;" not in page
    assert set(memo.to_dict()) == {"title", "context", "learned", "decisions", "risks", "questions"}
