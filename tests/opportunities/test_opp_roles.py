"""How steps are recognised: name rules, a user mapping, and errors that name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenure.errors import SpecError
from tenure.opportunities.roles import StepRoles


def test_default_name_rules() -> None:
    r = StepRoles()
    assert r.role("video.download") == "export"
    assert r.role("doc.export_pdf") == "export"
    assert r.role("clipboard.copy") == "export"
    assert r.role("clip.paste") == "bring_back"
    assert r.role("file-attach") == "bring_back"
    assert r.role("app.background") == "exit"
    assert r.role("app.foreground") == "return"
    # Substrings are not tokens: "downloads_page" is a page, "uploader.view" a view.
    assert r.role("downloads_page") is None
    assert r.role("uploader.view") is None
    assert r.role("feed.browse") is None


def test_mapping_adds_names_ignores_and_can_turn_rules_off(tmp_path: Path) -> None:
    f = tmp_path / "roles.yaml"
    f.write_text("bring_back: [reel.publish]\nignore: [photos.upload]\n")
    r = StepRoles.load(f)
    assert r.role("reel.publish") == "bring_back"
    assert r.role("photos.upload") is None
    assert r.role("video.download") == "export"
    strict = StepRoles.from_mapping({"export": ["x.grab"], "tokens": False})
    assert strict.role("x.grab") == "export"
    assert strict.role("video.download") is None
    assert strict.describe()["name_tokens"] is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("exports: [a]\n", "unknown key 'exports'"),
        ("export: a.b\n", "export must be a list"),
        ("tokens: maybe\n", "tokens must be true or false"),
        ("- a\n- b\n", "a role mapping is a mapping"),
    ],
)
def test_mapping_errors_name_the_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "roles.yaml"
    f.write_text(text)
    with pytest.raises(SpecError) as err:
        StepRoles.load(f)
    assert needle in str(err.value)
    assert str(f) in str(err.value)


def test_missing_mapping_file() -> None:
    with pytest.raises(SpecError, match=r"--roles nowhere\.yaml: no such file"):
        StepRoles.load("nowhere.yaml")
