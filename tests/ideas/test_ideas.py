"""Ideas: front matter validation, evidence status from verdicts, the template and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.cli import app
from tenure.errors import SpecError
from tenure.experiments import Verdict
from tenure.ideas import load_ideas, new_idea
from tenure.ideas.template import BUSINESS_QUESTIONS, CUSTOMER_QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()

FRONT = """---
name: {name}
title: A title
hypothesis: Doing X for Y raises Z by at least T.
customer_problem: Y struggles with X.
primary_metric: retention_90
threshold: "+1 point"
lifecycle_stage: growth
experiments: {experiments}
---
# Press release
Body.
"""


def _idea(folder: Path, name: str, experiments: str = "[]", **replace: str) -> Path:
    text = FRONT.format(name=name, experiments=experiments)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / f"{name}.md"
    path.write_text(text)
    return path


def _v(variant: str, decision: str) -> Verdict:
    return Verdict(variant, decision, f"{variant} {decision}", decision == "ship")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decisions", "status"),
    [
        ({}, "untested"),
        ({"e1": ["keep_running"]}, "running"),
        ({"e1": ["ship"]}, "supported"),
        ({"e1": ["do_not_ship"]}, "refuted"),
        ({"e1": ["investigate"]}, "inconclusive"),
        ({"e1": ["ship"], "e2": ["do_not_ship"]}, "inconclusive"),
        ({"e1": ["ship"], "e2": ["keep_running"]}, "supported"),
        ({"e1": ["do_not_ship"], "e2": ["keep_running"]}, "refuted"),
    ],
)
def test_status_from_linked_verdicts(
    tmp_path: Path, decisions: dict[str, list[str]], status: str
) -> None:
    _idea(tmp_path, "idea_a", "[e1, e2]")
    verdicts = {e: [_v(f"arm{k}", d) for k, d in enumerate(ds)] for e, ds in decisions.items()}
    idea = load_ideas(tmp_path, verdicts=verdicts).by_name("idea_a")
    assert idea.status == status
    assert len(idea.evidence) == sum(len(d) for d in decisions.values()) + (2 - len(decisions))


def test_a_link_to_one_variant_reads_only_that_variant(tmp_path: Path) -> None:
    _idea(tmp_path, "idea_b", "['e1:good']")
    verdicts = {"e1": [_v("good", "ship"), _v("bad", "do_not_ship")]}
    idea = load_ideas(tmp_path, verdicts=verdicts).by_name("idea_b")
    assert idea.status == "supported"
    assert [(e.variant, e.decision) for e in idea.evidence] == [("good", "ship")]
    _idea(tmp_path, "idea_c", "['e1:missing']")
    other = load_ideas(tmp_path, verdicts=verdicts).by_name("idea_c")
    assert other.status == "untested"
    assert "no variant 'missing'" in other.evidence[0].reason


@pytest.mark.parametrize(
    ("replace", "needle"),
    [
        ({"lifecycle_stage: growth": "lifecycle_stage: teenage"}, "lifecycle_stage:"),
        ({"hypothesis: Doing X for Y raises Z by at least T.\n": ""}, "hypothesis: Field required"),
        ({"name: bad_name": "name: other_name"}, "must match the file name"),
        ({"threshold:": "thresh:"}, "threshold: Field required"),
        ({"experiments: []": "experiments: [':x']"}, "experiments"),
        ({"---\nname": "name"}, "no front matter"),
    ],
)
def test_validation_errors_name_the_file_and_the_field(
    tmp_path: Path, replace: dict[str, str], needle: str
) -> None:
    path = _idea(tmp_path, "bad_name", **replace)
    with pytest.raises(SpecError) as err:
        load_ideas(tmp_path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_template_has_both_faq_halves_and_loads_as_untested(tmp_path: Path) -> None:
    path = new_idea(tmp_path, "my_idea")
    text = path.read_text()
    assert text.index("## Customers") < text.index("## Business")
    for q in (*CUSTOMER_QUESTIONS, *BUSINESS_QUESTIONS):
        assert q in text
    assert load_ideas(tmp_path).by_name("my_idea").status == "untested"
    with pytest.raises(SpecError, match="already exists"):
        new_idea(tmp_path, "my_idea")
    with pytest.raises(SpecError, match="NAME 'My Idea'"):
        new_idea(tmp_path, "My Idea")


def test_cli_new_then_list_as_json(tmp_path: Path) -> None:
    res = runner.invoke(app, ["ideas", "new", "stitch", "--ideas", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "stitch.md").is_file()
    res = runner.invoke(app, ["ideas", "--ideas", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [(i["name"], i["status"]) for i in doc["ideas"]] == [("stitch", "untested")]
    res = runner.invoke(app, ["ideas", "--ideas", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "no such folder of ideas" in res.output


def test_the_shipped_example_ideas_validate_and_link_real_experiments(tmp_path: Path) -> None:
    from tenure.experiments import load_specs

    result = load_ideas(ROOT / "ideas")
    assert len(result.ideas) >= 4
    specs = {s.name: s for s in load_specs(ROOT / "experiments")}
    for idea in result.ideas:
        for name, variant in idea.spec.links:
            if name == "qr_checkout_pilot":  # a pilot, read out by `tenure pilot readout`
                continue
            assert name in specs, (idea.file, name)
            if variant is not None:
                assert variant in specs[name].weights, (idea.file, variant)
    packaged = ROOT / "src" / "tenure" / "data" / "ideas"
    for f in (ROOT / "ideas").glob("*.md"):
        assert (packaged / f.name).read_text() == f.read_text(), f.name
    shutil.copytree(ROOT / "ideas", tmp_path / "copy")
    assert load_ideas(tmp_path / "copy").to_frame().shape[0] == len(result.ideas)


def test_report_section_lists_every_idea_with_its_status(tmp_path: Path) -> None:
    from tenure.report.ideas import render

    _idea(tmp_path, "idea_a", "[e1]")
    _idea(tmp_path, "idea_b")
    result = load_ideas(tmp_path, verdicts={"e1": [_v("arm", "ship")]})
    (section,) = render(result)
    assert section.body_html.count("<tr>") == 3  # header + two ideas
    assert "supported" in section.body_html and "untested" in section.body_html
    assert section.summary == "2 ideas: 1 supported, 1 untested"
