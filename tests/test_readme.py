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


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split("## Layout", 1)[1].split("```", 2)[1]


def test_the_readme_layout_names_every_module_and_package() -> None:
    """A newcomer finds each module in the README's layout, under its own package."""
    layout = _layout_block()
    package = ROOT / "dispatch_tui"
    missing = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if path.name in {"__init__.py", "__main__.py"}:
            if relative.parent.parts:
                name = f"{relative.parent.name}/"
                if name not in layout:
                    missing.append(str(relative.parent))
            continue
        stem = path.stem
        if relative.parent.name in {"screens", "widgets"}:
            continue  # described by what they show, not file by file
        if not re.search(rf"\b{re.escape(stem)}(\.py)?\b", layout):
            missing.append(str(relative))
    assert missing == [], f"not in the README's layout: {missing}"


def test_the_readme_layout_names_nothing_that_is_gone() -> None:
    layout = _layout_block()
    named = re.findall(r"^\s+([a-z_]+\.py)\b", layout, re.MULTILINE)
    package = ROOT / "dispatch_tui"
    existing = {path.name for path in package.rglob("*.py")}
    assert named and [name for name in named if name not in existing] == []
    folders = re.findall(r"^\s+([a-z_]+)/", layout, re.MULTILINE)
    assert all(
        (package / f).is_dir() or (package / "server" / f).is_dir() or (ROOT / f).is_dir()
        for f in folders
    ), folders
