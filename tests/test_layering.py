"""The console's layering: it speaks to any relay over the wire, never to the relay's code.

Every module the console is built from, the protocol and client it talks
through, and the names both sides share are read for imports (top-level and
inside functions): none may reach ``dispatch_tui.server``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dispatch_tui"
CONSOLE_SIDE = (
    "advice_text.py",
    "app.py",
    "client.py",
    "console_state.py",
    "floor.py",
    "protocol.py",
    "untrusted.py",
    "vocabulary.py",
    "screens",
    "widgets",
)
SERVER = "dispatch_tui.server"


def _modules() -> list[Path]:
    found: list[Path] = []
    for name in CONSOLE_SIDE:
        path = PACKAGE / name
        found.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return found


def _imported(tree: ast.AST, module: str) -> set[str]:
    """Every module name an import in ``tree`` reaches, relative imports resolved."""
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                prefix = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{prefix}.{base}" if base else prefix
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_console_module_imports_the_server(path: Path) -> None:
    module = "dispatch_tui." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    imported = _imported(ast.parse(path.read_text(), str(path)), module)
    reaching = sorted(name for name in imported if name == SERVER or name.startswith(SERVER + "."))
    assert reaching == [], f"{module} imports {reaching}"


def test_the_rule_sees_lazy_and_relative_imports() -> None:
    source = "def f():\n    from dispatch_tui.server.hub import Hub\nfrom ..server import relay\n"
    imported = _imported(ast.parse(source), "dispatch_tui.screens.main")
    assert "dispatch_tui.server.hub" in imported
    assert "dispatch_tui.server" in imported
    assert len(_modules()) > 10


def test_loading_the_console_loads_neither_the_server_nor_the_cli_command() -> None:
    """The console shares the CLI's exit codes; reading them must not load Typer or the relay."""
    probe = (
        "import sys\n"
        "import dispatch_tui.app\n"
        "heavy = ('typer', 'dispatch_tui.server', 'dispatch_tui.cli.command')\n"
        "print(','.join(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
