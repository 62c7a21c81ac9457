"""Benchmark: what reading the line and column of each issue costs a run.

    python tools/bench_positions.py [--repeat 3] [--bundle Bundle-searchParams.json]
                                    [--only files,xml,ndjson,bundle] [--worst-case]

Validates the same inputs with positions off and on (``engine.io.batch.Checker``, in
this process, bundled definitions) and prints the seconds of each, the difference, and
the time spent placing issues alone. The inputs, all official R5 examples
(``tools/fhir_packages.py``):

- ``files``: the mixed corpus (``mixed_corpus()``, 1,173 resources of 154 types), each
  resource read as a JSON file (the official files are written on one line) and as the
  same JSON indented over many lines;
- ``xml``: the mixed corpus written as FHIR XML (by ``tools/xml_roundtrip.py``'s writer;
  the few examples FHIR XML cannot express are left out);
- ``ndjson``: the mixed corpus as one NDJSON file, read by ``engine.io.inputs.read``;
- ``bundle``: one large official Bundle (``--bundle``, default ``Bundle-searchParams.json``,
  1.5 MB).

Times are CPU seconds of this process (``time.process_time``: the machine may be busy
with other work). Each case runs ``--repeat`` times, in turns (off, on, off, on…), and
the fastest run of each is kept; ``placing`` times
:func:`engine.io.positions.with_positions` alone on the reports of the run without
positions, the direct measure of the cost. Every run with positions is checked to give
the same issues as the run without (positions are added, nothing else changes) and every
issue a position. ``--only`` runs some of the cases (by the first word of their label).

``--worst-case`` adds a measure of placing alone on the largest official Bundle
(``Bundle-resources.json``, 42 MB on one line), with one made-up issue per entry
(``Bundle.entry[i].resource.id``), next to the time ``json.loads`` takes to read the
same text.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fhir_packages  # noqa: E402
from xml_roundtrip import NotXml, to_xml  # noqa: E402

from engine.io.batch import Checker, Result  # noqa: E402
from engine.io.inputs import RawResource, Unreadable, read  # noqa: E402
from engine.io.positions import with_positions  # noqa: E402
from engine.rules.sources import bundled_definitions  # noqa: E402
from engine.validation.report import Issue, Report  # noqa: E402

Items = Iterable[RawResource | Unreadable]


def _cases(bundle: str, folder: Path) -> dict[str, Callable[[], Items]]:
    corpus = fhir_packages.mixed_corpus()
    files = [RawResource(name, name, data, "json") for name, data in corpus]
    indented = [
        RawResource(name, name, json.dumps(json.loads(data), indent=2).encode(), "json")
        for name, data in corpus
    ]
    xml = []
    for name, data in corpus:
        try:
            xml.append(RawResource(name, name, to_xml(json.loads(data)).encode(), "xml"))
        except NotXml:
            continue
    ndjson = folder / "mixed.ndjson"
    ndjson.write_bytes(b"".join(json.dumps(json.loads(d)).encode() + b"\n" for _, d in corpus))
    big = next(data for name, data in fhir_packages.examples() if name == bundle)
    return {
        f"files ({len(files)} one-line JSON)": lambda: files,
        f"files ({len(indented)} indented JSON)": lambda: indented,
        f"xml ({len(xml)} files)": lambda: xml,
        f"ndjson ({len(corpus)} lines)": lambda: read([str(ndjson)]),
        f"bundle ({bundle}, {len(big) / 1e6:.1f} MB)": lambda: [
            RawResource(bundle, bundle, big, "json")
        ],
    }


def _worst_case(repeat: int) -> None:
    name = "Bundle-resources.json"
    data = next(d for n, d in fhir_packages.examples() if n == name)
    count = len(json.loads(data)["entry"])
    issues = tuple(
        Issue("error", "value", f"Bundle.entry[{n}].resource.id", "made up") for n in range(count)
    )
    item = RawResource(name, name, data, "json")
    placing = parsing = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        placed = with_positions(Report(issues=issues), item)
        placing = min(placing, time.process_time() - start)
        start = time.process_time()
        json.loads(data)
        parsing = min(parsing, time.process_time() - start)
    assert all(i.line is not None for i in placed.issues)
    print(
        f"worst case: {name} ({len(data) / 1e6:.0f} MB, one line), {count} issues, one per entry:"
        f" placing {placing:.2f} s ({placing / count * 1e6:.0f} µs an issue);"
        f" json.loads of the same text {parsing:.2f} s"
    )


def _run(checker: Checker, items: Iterable[RawResource | Unreadable]) -> tuple[float, list[Result]]:
    start = time.process_time()
    results = [checker(item) for item in items]
    return time.process_time() - start, results


def _placing(items: Iterable[RawResource | Unreadable], results: list[Result]) -> float:
    start = time.process_time()
    for item, result in zip(items, results, strict=True):
        if isinstance(item, RawResource):
            with_positions(result.report, item)
    return time.process_time() - start


def _same_issues(without: list[Result], with_: list[Result]) -> bool:
    def bare(results: list[Result]) -> list[Any]:
        return [
            sorted((replace(i, line=None, column=None) for i in r.report.issues), key=repr)
            for r in results
        ]

    placed = all(i.line is not None for r in with_ for i in r.report.issues)
    return placed and bare(without) == bare(with_)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bundle", default="Bundle-searchParams.json")
    parser.add_argument("--only", default="files,xml,ndjson,bundle")
    parser.add_argument("--worst-case", action="store_true")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    definitions = bundled_definitions()
    # One checker for both: the validator's caches (types loaded, expressions compiled,
    # verdicts of primitive values) are then the same for the runs with and without.
    checker = Checker(definitions)
    with tempfile.TemporaryDirectory() as folder:
        cases = {
            label: make
            for label, make in _cases(args.bundle, Path(folder)).items()
            if label.split()[0] in only
        }
        # Warm up: types load lazily and FHIRPath expressions compile on first use.
        for make in cases.values():
            _run(checker, make())
        print(
            f"{'input':42} {'issues':>6} {'off s':>7} {'on s':>7} {'on-off':>7}"
            f" {'placing s':>9} {'placing':>8}"
        )
        failed = False
        for label, make in cases.items():
            best_off = best_on = float("inf")
            for _ in range(args.repeat):
                checker.positions = False
                seconds_off, results_off = _run(checker, make())
                checker.positions = True
                seconds_on, results_on = _run(checker, make())
                best_off, best_on = min(best_off, seconds_off), min(best_on, seconds_on)
                failed = failed or not _same_issues(results_off, results_on)
            items = list(make())
            placing = min(_placing(items, results_off) for _ in range(args.repeat))
            issues = sum(len(r.report.issues) for r in results_off)
            difference = (best_on - best_off) / best_off * 100
            share = placing / best_off * 100
            print(
                f"{label:42} {issues:6} {best_off:7.2f} {best_on:7.2f} {difference:+6.1f}%"
                f" {placing:9.3f} {share:7.2f}%"
            )
    if args.worst_case:
        _worst_case(args.repeat)
    if failed:
        print("error: positions changed the issues, or left some without a position")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
