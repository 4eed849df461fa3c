"""Docs are tested like code: the README's commands, settings and CLI commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from kb.cli import app
from kb.settings import SETTINGS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_commands() -> list[str]:
    return [line[6:] for line in README.splitlines() if line.startswith("    $ ")]


def test_readme_has_exactly_two_commands():
    cmds = _readme_commands()
    assert len(cmds) == 2
    assert "kb ingest corpus" in cmds[0] and cmds[0].rstrip().endswith("kb app")
    assert "pytest" in cmds[1]


def test_ci_runs_exactly_readme_command_2():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == _readme_commands()[1]


def test_every_setting_and_env_var_is_documented():
    for s in SETTINGS:
        assert s.env in README, f"{s.env} missing from README"
        assert re.search(rf"\b{s.name}\b", README), f"setting {s.name} missing from README"


def test_every_cli_command_is_documented():
    cli = get_command(app)
    for name in cli.commands:
        assert f"kb {name}" in README, f"`kb {name}` missing from README"


def test_torch_is_pinned_to_the_cpu_build():
    pyproject = (REPO / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject
