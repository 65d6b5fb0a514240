"""The README states the commands that CI really runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parent.parent


def last_line(text: str) -> str:
    return [line for line in text.splitlines() if line.strip()][-1]


def test_ci_runs_readme_test_command() -> None:
    command = last_line((ROOT / ".ci" / "run").read_text())

    assert command.startswith("python3 -m venv .venv")
    assert command in (ROOT / "README.md").read_text()
