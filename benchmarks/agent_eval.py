"""Score an agent on labelled calls: our development and held-out parts, and any other file.

    python benchmarks/agent_eval.py [../shared/calls/public.jsonl ...] [--agent rules]
        [--errors] [--types]

Prints, side by side for each part, the figures the agent is judged on:
incident-type accuracy, cardiac-arrest sensitivity and positive predictive
value, exact priority, and location match (every word of the labelled location
appears in the predicted one; null matches null). Then the time to
recognition of cardiac arrest (each arrest call replayed turn by turn: after how
many caller turns, and seconds where the call has timings, the agent first says
``cardiac_arrest``), and the rules agent's time per utterance.

``--errors`` and ``--types`` show the development part and the files named,
never the held-out part: rules are written without looking at it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dispatch_tui.protocol import Suggestion
from dispatch_tui.server.agents import create_agent
from dispatch_tui.server.agents.base import Agent, Segment, is_dispatcher

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEVELOPMENT = DATA / "calls_dev.jsonl"
HELD_OUT = DATA / "calls_heldout.jsonl"
HELD_OUT_NAME = "held-out"


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
class Recognition:
    """When an arrest call was first called ``cardiac_arrest`` (None: never)."""

    call_id: str
    caller_turns: int | None
    seconds: float | None


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    recognitions: list[Recognition] = field(default_factory=list)
    #: Seconds each call-so-far took the agent, one per utterance.
    utterance_seconds: list[float] = field(default_factory=list)

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


def _segments(call: dict[str, Any]) -> list[Segment]:
    return [Segment(s.get("speaker"), s["text"]) for s in call["segments"]]


async def evaluate(calls: list[dict[str, Any]], agent: Agent) -> Report:
    report = Report()
    for call in calls:
        segments = _segments(call)
        recognised: Recognition | None = None
        caller_turns = 0
        # Turn by turn, as the relay's pipeline asks: each utterance is new to the agent.
        for end in range(1, len(segments) + 1):
            if not is_dispatcher(segments[end - 1]):
                caller_turns += 1
            started = time.perf_counter()
            so_far = await agent.suggest(segments[:end])
            report.utterance_seconds.append(time.perf_counter() - started)
            if recognised is None and so_far.incident_type == "cardiac_arrest":
                at = call["segments"][end - 1].get("at")
                recognised = Recognition(call["call_id"], caller_turns, at)
        report.outcomes.append(Outcome(call["call_id"], call["label"], so_far))
        if call["label"]["incident_type"] == "cardiac_arrest":
            report.recognitions.append(recognised or Recognition(call["call_id"], None, None))
    return report


def _figures(report: Report) -> dict[str, str]:
    turns = [r.caller_turns for r in report.recognitions if r.caller_turns is not None]
    seconds = [r.seconds for r in report.recognitions if r.seconds is not None]
    missed = sum(r.caller_turns is None for r in report.recognitions)
    per_utterance = report.utterance_seconds or [0.0]
    return {
        "calls": str(len(report.outcomes)),
        "incident_type accuracy": f"{report.type_accuracy:.3f}",
        "cardiac_arrest sensitivity": f"{report.sensitivity('cardiac_arrest'):.3f}",
        "cardiac_arrest PPV": f"{report.ppv('cardiac_arrest'):.3f}",
        "priority exact": f"{report.priority_accuracy:.3f}",
        "location match": f"{report.location_accuracy:.3f}",
        "arrest recognised: median caller turns": (
            f"{statistics.median(turns):.1f}" if turns else "-"
        ),
        "arrest recognised: worst caller turns": str(max(turns)) if turns else "-",
        "arrest recognised: median seconds": (
            f"{statistics.median(seconds):.1f}" if seconds else "-"
        ),
        "arrest recognised: worst seconds": f"{max(seconds):.1f}" if seconds else "-",
        "arrest never recognised": str(missed),
        "ms per utterance: mean": f"{1000 * statistics.fmean(per_utterance):.2f}",
        "ms per utterance: worst": f"{1000 * max(per_utterance):.2f}",
    }


def print_types(name: str, report: Report, console: Console) -> None:
    support = Counter(o.label["incident_type"] for o in report.outcomes)
    correct = Counter(o.label["incident_type"] for o in report.outcomes if o.type_ok)
    table = Table("incident_type", "support", "correct", "recall", "ppv", title=name)
    for kind, count in sorted(support.items()):
        table.add_row(
            kind,
            str(count),
            str(correct[kind]),
            f"{correct[kind] / count:.2f}",
            f"{report.ppv(kind):.2f}",
        )
    console.print(table)


def print_errors(name: str, report: Report, console: Console) -> None:
    for o in report.outcomes:
        if not (o.type_ok and o.priority_ok and o.location_ok):
            console.print(
                f"{name} {o.call_id}: want {o.label['incident_type']}/P{o.label['priority']}/"
                f"{o.label.get('location')!r} got {o.predicted.incident_type}/"
                f"P{o.predicted.priority}/{o.predicted.location!r}",
                markup=False,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="*", help="more labelled files, one column each")
    parser.add_argument("--agent", default="rules", choices=["rules", "openai"])
    parser.add_argument("--model", default=None)
    parser.add_argument("--errors", action="store_true", help="list misses (not held-out ones)")
    parser.add_argument("--types", action="store_true", help="a table per type and part")
    args = parser.parse_args()
    agent = create_agent(args.agent, args.model)
    assert agent is not None
    parts = {"development": DEVELOPMENT, HELD_OUT_NAME: HELD_OUT}
    parts.update({path.stem: path for path in args.files})
    reports = {name: asyncio.run(evaluate(load_calls(path), agent)) for name, path in parts.items()}
    console = Console()
    for name, report in reports.items():
        if name == HELD_OUT_NAME:
            continue
        if args.types:
            print_types(name, report, console)
        if args.errors:
            print_errors(name, report, console)
    table = Table("figure", *reports)
    columns = [_figures(report) for report in reports.values()]
    for figure in columns[0]:
        table.add_row(figure, *(column[figure] for column in columns))
    console.print(table)


if __name__ == "__main__":
    main()
