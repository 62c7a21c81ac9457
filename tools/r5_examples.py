"""Validate every official FHIR R5 example and summarise the verdicts.

    npm pack hl7.fhir.r5.examples@5.0.0      # gives hl7.fhir.r5.examples-5.0.0.tgz
    python tools/r5_examples.py --package hl7.fhir.r5.examples-5.0.0.tgz [--definitions DIR]
        [--show KEY_OR_CODE] [--jobs N]

Prints the number of examples, how many crashed the engine (must be 0), the error-level
issues by code and by constraint key (each with one instance), and the constraints
not evaluated. ``--show`` lists every error with that code or constraint key.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tarfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from engine.model.numbers import JsonNumber  # noqa: E402


def examples(package: Path) -> Iterator[tuple[str, Any]]:
    """(name, parsed JSON) of each example resource in the package, in archive order
    (reading a .tgz out of order decompresses it again for every backward seek)."""
    with tarfile.open(package) as tar:
        for member in tar:
            name = member.name.removeprefix("package/")
            if not member.isfile() or not name.endswith(".json") or "/" in name:
                continue
            if name in (".index.json", "package.json"):
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            try:
                # Numbers as the engine's readers give them: exact, with their text.
                yield name, json.loads(handle.read().decode("utf-8"), parse_float=JsonNumber)
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                yield name, _Unreadable(str(err))


class _Unreadable(str):
    """The parse error of an example that is not JSON (a str, so it pickles to workers)."""


_VALIDATOR: engine.Validator | None = None


def _init(definitions: str) -> None:
    global _VALIDATOR
    _VALIDATOR = engine.Validator(engine.load_definitions(definitions))


def _validate(item: tuple[str, Any]) -> tuple[str, engine.Report | str]:
    """(name, report) or (name, error text) for one example; runs in a worker."""
    name, resource = item
    assert _VALIDATOR is not None
    if isinstance(resource, _Unreadable):
        return name, f"unreadable JSON: {resource}"
    try:
        return name, _VALIDATOR.validate(resource)
    except Exception:  # the tool's job is to find these: report, never stop
        return name, "engine crash:\n" + traceback.format_exc()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, type=Path)
    parser.add_argument("--definitions", default=str(ROOT / "definitions"))
    parser.add_argument("--show", action="append", default=[])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    by_code: Counter[str] = Counter()
    by_key: Counter[str] = Counter()
    instance: dict[str, str] = {}
    not_evaluated: Counter[str] = Counter()
    resources_with_errors = 0
    crashes: list[str] = []
    unreadable = 0
    count = 0
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(
        args.jobs, initializer=_init, initargs=(args.definitions,)
    ) as pool:
        results = list(pool.imap(_validate, examples(args.package), chunksize=8))
    for name, report in results:
        count += 1
        if isinstance(report, str):
            if report.startswith("unreadable"):
                unreadable += 1
            else:
                crashes.append(f"{name}: {report}")
            print(f"{name}: {report}", flush=True)
            continue
        if not report.valid:
            resources_with_errors += 1
        for issue in report.issues:
            if issue.code == "informational" and issue.key:
                not_evaluated[issue.key] += 1
                continue
            if issue.severity not in ("error", "fatal"):
                continue
            label = issue.key or issue.code
            by_code[issue.code] += 1
            if issue.key:
                by_key[issue.key] += 1
            instance.setdefault(label, f"{name}: {issue}")
            instance.setdefault(issue.code, f"{name}: {issue}")
            if label in args.show or issue.code in args.show:
                print(f"{name}: {issue}")
    seconds = time.perf_counter() - start

    print(f"examples: {count} ({unreadable} unreadable JSON) in {seconds:.1f} s")
    print(f"engine crashes: {len(crashes)}")
    for crash in crashes[:5]:
        print(crash)
    print(f"resources with errors: {resources_with_errors}")
    print("error-level issues by code:")
    for code, n in by_code.most_common():
        print(f"  {code:14} {n:6}   e.g. {instance.get(code, '')[:160]}")
    print("error-level issues by constraint key:")
    for key, n in by_key.most_common():
        print(f"  {key:14} {n:6}   e.g. {instance[key][:160]}")
    print(f"constraints not evaluated ({len(not_evaluated)} keys, once per resource):")
    for key, n in sorted(not_evaluated.items()):
        print(f"  {key:14} {n:6}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
