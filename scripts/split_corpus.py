"""Split our labelled calls once into a development part and a held-out part.

    python scripts/split_corpus.py tests/data/corpus/*.jsonl

Stratified by incident type, with a fixed seed, a third held out: rules are
written while looking at the development part only, and the held-out part
shows how they do on calls they were not written from. Run once; running it
again on the same files gives the same split. (The 330 calls of the first
batch were split this way; three later batches, of 180, 160 and 120 calls,
went to the development part whole, after their figures were taken as a check
on calls the rules had not seen.)
"""

from __future__ import annotations

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SEED = 20261201
HELD_OUT_SHARE = 1 / 3


def main() -> None:
    by_type: dict[str, list[str]] = defaultdict(list)
    for path in sys.argv[1:]:
        for line in Path(path).read_text().splitlines():
            if line.strip():
                by_type[json.loads(line)["label"]["incident_type"]].append(line)
    rng = random.Random(SEED)
    development: list[str] = []
    held_out: list[str] = []
    for kind in sorted(by_type):
        lines = by_type[kind]
        rng.shuffle(lines)
        cut = round(len(lines) * HELD_OUT_SHARE)
        held_out.extend(lines[:cut])
        development.extend(lines[cut:])
    rng.shuffle(development)
    rng.shuffle(held_out)
    (DATA / "calls_dev.jsonl").write_text("\n".join(development) + "\n")
    (DATA / "calls_heldout.jsonl").write_text("\n".join(held_out) + "\n")
    sys.stdout.write(f"development {len(development)}, held-out {len(held_out)}\n")


if __name__ == "__main__":
    main()
