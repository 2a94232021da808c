"""The README's commands, run as a new user would: a fresh venv, the runtime install, no [dev].

The package is installed *non-editable* and without the ``dev`` extra into a new virtualenv,
so this is what a user's ``pip install`` gets: a dependency that only the test extras pull in
(pytz through lifelines once) or a file that is not shipped as package data (the demo's
experiment specs once) fails here. Every ``tenure …`` line of the README's ``sh`` blocks runs
in README order in one working folder, with optional ``[…]`` parts dropped, line continuations
joined and worlds shrunk to a few thousand members so the whole check stays small. Examples
that need a running server or files the README does not make belong in ``bash`` blocks, which
are not run; the few that still do are declared in ``GAPS`` with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MEMBERS = "2000"


def readme_commands(text: str) -> list[str]:
    """Every ``tenure`` command in the README's ``sh`` blocks, ready to run.

    >>> readme_commands("```sh\\ntenure demo [--seed S]   # all\\ntenure a \\\\\\n  --b 1\\n```")
    ['tenure demo --members 2000 --out demo/', 'tenure a --b 1']
    """
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            line = " ".join(re.sub(r"\s*\[[^\]]*\]", "", line).split())
            if not line.startswith("tenure "):
                continue
            line = re.sub(r"--members \d+", f"--members {MEMBERS}", line)
            if line.split()[:2] == ["tenure", "demo"] and "--members" not in line:
                line += f" --members {MEMBERS} --out demo/"
            out.append(line)
    return out


COMMANDS = readme_commands(README.read_text())

# Declared gaps: README commands that cannot succeed on the world the README itself makes.
GAPS: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for c in COMMANDS:
        marks = [
            pytest.mark.xfail(strict=False, reason=why)
            for key, why in GAPS.items()
            if key in f"{c} "
        ]
        out.append(pytest.param(c, id=c[:60], marks=marks))
    return out


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with Tenure installed from the checkout (not editable, no extras)."""
    base = tmp_path_factory.mktemp("readme")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
           "--disable-pip-version-check"]  # fmt: skip
    done = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True, timeout=1200, cwd=base)
    if done.returncode != 0:
        if "Could not find a version" in done.stderr or "No matching distribution" in done.stderr:
            pytest.skip(f"the package index is not reachable here: {done.stderr[-300:]}")
        raise AssertionError(f"pip install failed:\n{done.stderr[-3000:]}")
    work = base / "work"
    work.mkdir()
    # A checkout's working folder: the README refers to experiments/ beside the data.
    shutil.copytree(ROOT / "experiments", work / "experiments")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "120"
    return work, env


def test_the_runtime_install_is_not_editable(user: tuple[Path, dict[str, str]]) -> None:
    work, env = user
    where = subprocess.run(
        ["python", "-c", "import tenure, tenure.pipeline as p; print(tenure.__file__);"
         "print(p.bundled_specs_folder())"],
        capture_output=True, text=True, env=env, cwd=work, check=True,
    )  # fmt: skip
    lines = where.stdout.split()
    assert "site-packages" in lines[0] and str(ROOT / "src") not in lines[0]
    assert sorted(p.name for p in Path(lines[1]).glob("*.yaml"))  # specs shipped as data
    dev = subprocess.run(["python", "-c", "import pytest"], env=env, cwd=work)
    assert dev.returncode != 0  # no dev extra: what a user gets


def test_the_readme_shows_commands() -> None:
    names = {c.split()[1] for c in COMMANDS}
    assert {"simulate", "ingest", "demo", "report", "memo"} <= names


@pytest.mark.parametrize("command", _params())
def test_readme_command_runs(command: str, user: tuple[Path, dict[str, str]]) -> None:
    work, env = user
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, env=env, cwd=work, timeout=900
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert "Traceback" not in done.stderr
