"""Score an agent on a labelled calls file.

    python benchmarks/agent_eval.py ../shared/calls/public.jsonl [--agent rules] [--errors]

Prints a table per incident type, then the figures the agent is judged on:
incident-type accuracy, cardiac-arrest sensitivity and positive predictive
value, exact priority, and location match (every word of the labelled location
appears in the predicted one; null matches null).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents import create_agent
from dispatch_tui.server.agents.base import Agent, Segment


@dataclass
class Outcome:
    call_id: str
    label: dict[str, Any]
    predicted: Suggestion

    @property
    def type_ok(self) -> bool:
        return bool(self.predicted.incident_type == self.label["incident_type"])

    @property
    def priority_ok(self) -> bool:
        return bool(self.predicted.priority == self.label["priority"])

    @property
    def location_ok(self) -> bool:
        return location_matches(self.label.get("location"), self.predicted.location)


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def share(self, ok: list[bool]) -> float:
        return sum(ok) / len(ok) if ok else 0.0

    @property
    def type_accuracy(self) -> float:
        return self.share([o.type_ok for o in self.outcomes])

    @property
    def priority_accuracy(self) -> float:
        return self.share([o.priority_ok for o in self.outcomes])

    @property
    def location_accuracy(self) -> float:
        return self.share([o.location_ok for o in self.outcomes])

    def sensitivity(self, kind: str) -> float:
        actual = [o for o in self.outcomes if o.label["incident_type"] == kind]
        return self.share([o.predicted.incident_type == kind for o in actual])

    def ppv(self, kind: str) -> float:
        predicted = [o for o in self.outcomes if o.predicted.incident_type == kind]
        return (
            self.share([o.label["incident_type"] == kind for o in predicted]) if predicted else 1.0
        )


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def location_matches(expected: str | None, predicted: str | None) -> bool:
    if expected is None:
        return predicted is None
    if predicted is None:
        return False
    have = set(_words(predicted))
    return all(word in have for word in _words(expected))


def load_calls(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def evaluate(calls: list[dict[str, Any]], agent: Agent) -> Report:
    report = Report()
    for call in calls:
        segments = [Segment(s.get("speaker"), s["text"]) for s in call["segments"]]
        predicted = await agent.suggest(segments)
        report.outcomes.append(Outcome(call["call_id"], call["label"], predicted))
    return report


def print_report(report: Report, console: Console, show_errors: bool) -> None:
    support = Counter(o.label["incident_type"] for o in report.outcomes)
    correct = Counter(o.label["incident_type"] for o in report.outcomes if o.type_ok)
    table = Table("incident_type", "support", "correct", "recall", "ppv")
    for kind, count in sorted(support.items()):
        table.add_row(
            kind,
            str(count),
            str(correct[kind]),
            f"{correct[kind] / count:.2f}",
            f"{report.ppv(kind):.2f}",
        )
    console.print(table)
    if show_errors:
        for o in report.outcomes:
            if not (o.type_ok and o.priority_ok and o.location_ok):
                console.print(
                    f"{o.call_id}: want {o.label['incident_type']}/P{o.label['priority']}/"
                    f"{o.label.get('location')!r} got {o.predicted.incident_type}/"
                    f"P{o.predicted.priority}/{o.predicted.location!r}",
                    markup=False,
                )
    console.print(f"calls                        {len(report.outcomes)}")
    console.print(f"incident_type accuracy       {report.type_accuracy:.3f}")
    console.print(f"cardiac_arrest sensitivity   {report.sensitivity('cardiac_arrest'):.3f}")
    console.print(f"cardiac_arrest PPV           {report.ppv('cardiac_arrest'):.3f}")
    console.print(f"priority exact               {report.priority_accuracy:.3f}")
    console.print(f"location match               {report.location_accuracy:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--agent", default="rules", choices=["rules", "openai"])
    parser.add_argument("--model", default=None)
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args()
    agent = create_agent(args.agent, args.model)
    assert agent is not None
    report = asyncio.run(evaluate(load_calls(args.file), agent))
    print_report(report, Console(), args.errors)


if __name__ == "__main__":
    main()
