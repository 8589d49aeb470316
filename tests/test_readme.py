"""The README's two commands are the ones the project runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    demo, tests = readme_commands()[:2]
    assert demo.endswith(".venv/bin/dispatch demo")
    assert "apt-get install" in tests and "redis-server" in tests and "tmux" in tests
    assert tests.endswith(".venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == tests
