"""docs/agent.md lists the incident types exactly as the incident table has them."""

from __future__ import annotations

from pathlib import Path

from dispatch_tui.server.agents.incident_table import INCIDENT_TYPES, UNKNOWN
from dispatch_tui.server.agents.incidents import DENIALS, PATTERNS

AGENT_DOC = Path(__file__).resolve().parent.parent / "docs" / "agent.md"
SECTION = "## The incident types"


def documented_rows() -> list[list[str]]:
    """The cells of the table under :data:`SECTION`, header and rule left out."""
    lines = AGENT_DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(SECTION)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert rows, f"no table under {SECTION!r} in docs/agent.md"
    header, rule, *body = rows
    assert header == ["type", "default priority", "units", "what callers typically say"]
    assert all(set(cell) <= {"-", ":"} for cell in rule)
    return body


def test_the_docs_list_every_incident_type_as_the_table_has_it() -> None:
    expected = [
        [
            f"`{incident.name}`",
            str(incident.priority),
            ", ".join(incident.units) or "none",
            incident.typical,
        ]
        for incident in INCIDENT_TYPES
    ]
    assert documented_rows() == expected


def test_names_are_unique_and_unknown_comes_last() -> None:
    names = [incident.name for incident in INCIDENT_TYPES]
    assert len(set(names)) == len(names)
    assert INCIDENT_TYPES[-1] is UNKNOWN
    assert all(1 <= incident.priority <= 5 for incident in INCIDENT_TYPES)


def test_the_rules_agent_has_patterns_for_every_type_but_unknown() -> None:
    assert set(PATTERNS) == {incident.name for incident in INCIDENT_TYPES} - {UNKNOWN.name}
    assert set(DENIALS) <= set(PATTERNS)
