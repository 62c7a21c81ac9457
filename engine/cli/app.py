"""The command line: ``fhir-invariants validate …`` and ``fhir-invariants rules regenerate``.

    $ fhir-invariants validate examples/imagingselection
    $ fhir-invariants validate --format json data/*.ndjson
    $ cat bundle.json | fhir-invariants validate --format outcome -

``python -m engine`` runs the same command line.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from importlib import metadata
from pathlib import Path

from engine.cli.rules import add_rules_subcommand
from engine.fhirpath.evaluators import DEFAULT_EVALUATOR, EVALUATORS
from engine.io.batch import check_all
from engine.io.formats import FORMATS, SEVERITIES, Options, make_output
from engine.io.inputs import STDIN, expand, read
from engine.io.progress import Progress
from engine.model import DefinitionError
from engine.rules.sources import DefinitionsSource
from engine.validation.validator import DEFAULT_TIME_BUDGET

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

_VALIDATE_HELP = """\
Validate FHIR resources against the definitions: structure, cardinality, types,
required codes and every constraint (FHIRPath invariant).

Inputs: files, folders (read recursively: *.json, *.ndjson, *.jsonl, *.xml), glob
patterns ('data/**/*.json', quoted so the shell leaves them) and - for standard input.
FHIR JSON files hold one resource; NDJSON files one resource per line (blank lines
skipped); XML files are FHIR XML. A Bundle is one resource: its entries are validated
inside it, with locations like Bundle.entry[3].resource.status. Standard input and
files with other names are recognized by their content.

Input that cannot be parsed (bad JSON, a bad NDJSON line, malformed XML) is reported
as a resource with one fatal 'structure' issue, the source naming the file and line
(data.ndjson:7); a path that cannot be read at all (missing, no permission, a pattern
matching nothing) as one with a fatal 'processing' issue. Either way the other inputs
are still validated.

Every issue names the line and column of its element in the input (for NDJSON, the
line of the file and the column in that line). Issues are listed in document order.

Output: --min-severity hides less severe issues, --quiet leaves only the summary lines,
--summary adds a table of issue counts by rule and resource type. Summaries count every
issue and the exit status is decided on every issue, whatever is shown. With --format
json or outcome, standard output stays one JSON line per resource: the summary lines
(--quiet) and the table (--summary) go to standard error.

Exit status:
  0  every resource is valid (warnings and notes allowed)
  1  some resource has an error or fatal issue (malformed input included)
  2  usage error, invalid definitions, or an input that cannot be read at all
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        with _sigterm_as_exception():
            return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except _Terminated:
        # Nothing more is written: a reader that stopped reading must not keep this
        # process waiting on the final flush of a full pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 143
    except BrokenProcessPool as error:
        print(f"error: the --jobs worker processes failed: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly with the status of a process
        # ended by SIGPIPE, as Unix tools do; no verdict was reached.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


class _Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that cleanup runs (the ``--jobs``
    workers are stopped) before the process ends. A BaseException, as KeyboardInterrupt
    is: no handler of errors (an output that reports a result it cannot write) may take
    it for one."""


@contextlib.contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fhir-invariants",
        description="A FHIRPath-driven invariant engine for FHIR: validate resources "
        "against definitions written as data.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    validate = commands.add_parser(
        "validate",
        help="validate FHIR resources (JSON, NDJSON, Bundle, XML)",
        description=_VALIDATE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("inputs", nargs="+", metavar="INPUT", help="file, folder, glob or -")
    validate.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text: one line per issue and summaries (default); json: one object per "
        "resource and line; outcome: one OperationOutcome per resource and line; html: one "
        "self-contained page for the whole run (totals, tables, charts, the issues)",
    )
    validate.add_argument(
        "--definitions",
        metavar="DIR",
        default=None,
        help="the definitions folder (or file) to validate against, read from its markdown "
        "(default: the bundled definitions, from their compiled rules)",
    )
    validate.add_argument(
        "--rules",
        metavar="FILE",
        default=None,
        help="a local-rules YAML file: your own constraints, and constraint keys to switch "
        "off with a reason (see docs/rules.md)",
    )
    validate.add_argument(
        "--no-builtin-rules",
        dest="builtin_rules",
        action="store_false",
        help="leave out the definitions folder's own rules (*.rules.yaml): for the bundled "
        "definitions, the checks the HL7 validator makes in Java code (hl7v-* keys)",
    )
    validate.add_argument(
        "--jobs",
        "-j",
        metavar="N",
        type=_positive,
        default=1,
        help="validate in N processes (output is the same, in input order); "
        "a progress bar shows on standard error when it is a terminal",
    )
    validate.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default="information",
        help="list only issues of this severity or above (default: information, all); "
        "summaries and the exit status still count every issue",
    )
    validate.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only the summary lines (text), or no per-resource lines (json, outcome)",
    )
    validate.add_argument(
        "--summary",
        action="store_true",
        help="end with a table of issue counts by rule (constraint key, or issue code) and "
        "resource type (on standard error for json and outcome)",
    )
    validate.add_argument(
        "--time-budget",
        metavar="SECONDS",
        type=_budget,
        default=DEFAULT_TIME_BUDGET,
        help="the most time one resource may take: SECONDS for up to 1 MB of JSON, as "
        "many per MB beyond (default: %(default)g); past it, its validation stops with a "
        "fatal 'too-costly' issue naming what was not checked. 0 for no limit",
    )
    validate.add_argument(
        "--evaluator",
        choices=EVALUATORS,
        default=DEFAULT_EVALUATOR,
        help="the FHIRPath evaluator: compiled (Python closures, the default) or fhirpathpy "
        "(the reference implementation); both give the same verdicts",
    )
    validate.add_argument(
        "--explain",
        action="store_true",
        help="under each failed constraint, its sub-expressions evaluated on the element, "
        "down to the part that decided the verdict (json: 'explanation'; outcome: "
        "'diagnostics')",
    )
    validate.add_argument(
        "--spark",
        nargs="?",
        const="local[*]",
        metavar="MASTER",
        help="validate NDJSON files on Apache Spark (master: local[*] by default, local[N], "
        "spark://HOST:PORT, yarn…), results written under --output; needs the 'spark' extra",
    )
    validate.add_argument(
        "--output",
        metavar="DIR",
        help="with --spark: where the results go (Parquet; NDJSON too with --format json)",
    )
    validate.set_defaults(func=_validate)
    add_rules_subcommand(commands)
    return parser


def _version() -> str:
    # From the installed package's metadata, as engine.__version__ (the command line may
    # not import the public API: it is a layer above it).
    try:
        return metadata.version("fhir-invariants")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _budget(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds (0: no limit), got {text!r}"
        )
    return value or None


def _validate(args: argparse.Namespace) -> int:
    if args.spark is not None or args.output is not None:
        from engine.spark.cli import validate_on_spark  # pyspark only for a Spark run

        return validate_on_spark(args)
    if args.inputs.count(STDIN) > 1:
        print("error: standard input (-) can be read only once", file=sys.stderr)
        return EXIT_USAGE
    source = DefinitionsSource(
        None if args.definitions is None else str(args.definitions),
        None if args.rules is None else str(args.rules),
        args.builtin_rules,
    )
    try:
        definitions = source.load()
    except DefinitionError as error:
        print(f"error: invalid definitions: {error}", file=sys.stderr)
        return EXIT_USAGE
    # Sizing the inputs lists them a second time: only worth it for a visible bar.
    progress = Progress(sys.stderr, _total_size(args.inputs) if sys.stderr.isatty() else None)
    options = Options(args.min_severity, args.quiet, args.summary)
    output = make_output(args.format, sys.stdout, options, sys.stderr, definitions)
    unreadable = invalid = False
    results = check_all(
        read(args.inputs),
        source,
        args.jobs,
        loaded=definitions,
        time_budget=args.time_budget,
        evaluator=args.evaluator,
        explain=args.explain,
    )
    shared_terminal = sys.stdout.isatty()
    try:
        for result in results:
            if shared_terminal:
                progress.clear()
            output.write(result)
            progress.advance(result.size, not result.report.valid)
            unreadable = unreadable or result.unreadable
            invalid = invalid or not result.report.valid
        output.close()
    finally:
        progress.close()
    if unreadable:
        return EXIT_USAGE
    return EXIT_INVALID if invalid else EXIT_VALID


def _total_size(inputs: Sequence[str]) -> int | None:
    """The bytes to read, for the progress bar; None when unknown (standard input)."""
    if STDIN in inputs:
        return None
    total = 0
    for path in expand(inputs):
        if isinstance(path, Path):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
    return total
