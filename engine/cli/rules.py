"""The ``rules`` commands, for definition authors:

- ``fhir-invariants rules regenerate [--definitions DIR] [--check] [--impact CORPUS…]``
  rebuilds the compiled rules and says what changed; with ``--impact``, also what the
  change does to the verdicts on a corpus (:mod:`engine.cli.impact`);
- ``fhir-invariants rules lint [--definitions DIR] [--rules FILE] [--format text|json]
  [--strict]`` checks every constraint statically (:mod:`engine.rules.lint`).

The main command line (:mod:`engine.cli.app`) adds them with :func:`add_rules_subcommand`;
they also run on their own, which is what CI can call::

    python -m engine.cli.rules regenerate --check
    python -m engine.cli.rules lint --strict

``regenerate`` exits 0 when the rule files are up to date (or were regenerated), 1 when
``--check`` finds them stale (the summary says what differs), 2 when a definition is
invalid (the error names the file and line). ``lint`` exits 0 when there is no error
(with ``--strict``: no warning either), 1 otherwise, 2 when it cannot run.

Without ``--definitions`` the commands act on the bundled definitions: the project's
``definitions/`` folder in a source checkout. In an installed package they are part of
the installation, which is not to be written to: ``--check`` works there as anywhere,
and a plain ``regenerate`` writes nothing: it says the rule files are up to date, or
(exit status 2) that it needs a definitions folder it may write to.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.model import DefinitionError
from engine.rules.format import REGENERATE_COMMAND
from engine.rules.lint import CHECKS, lint_folder
from engine.rules.regenerate import regenerate
from engine.rules.sources import bundled_definitions_dir

#: The project's definitions folder, the default for ``--definitions``.
PROJECT_DEFINITIONS = bundled_definitions_dir()
#: The folder name the bundled rule files are generated under, which their headers give
#: (``--definitions definitions``) wherever the package installs them.
BUNDLED_LABEL = "definitions"
_PACKAGE = Path(__file__).resolve().parent.parent

_DESCRIPTION = """\
Rebuild the compiled rule files (DIR/rules/<Type>.yaml) from the definitions markdown
in DIR and print what changed: constraints added, removed or changed, element changes.
With --check nothing is written; the exit status is 1 when the rule files are stale.
With --impact, the corpus (files, folders, NDJSON, as for validate) is validated with
the rules before the change (DIR/rules/) and after it (the markdown), and each changed
constraint is listed with the resources that now fail it and those that now pass.
Exit status: 0 up to date or regenerated, 1 stale (--check), 2 invalid definitions."""

_LINT_DESCRIPTION = (
    """\
Check every constraint of the definitions in DIR without data, typed against the
definitions, and print each finding as file:line: key: severity: message, with a
suggested rewrite where there is one. Checks (name them in a local-rules file's
lint: entries to silence a finding for one constraint, with a reason):

"""
    + "\n".join(f"  {name:<21}{text}" for name, text in CHECKS.items())
    + """

Exit status: 0 no error (with --strict: no warning either), 1 otherwise, 2 when the
definitions folder or the local-rules file cannot be used."""
)


def add_rules_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``rules regenerate`` to an argparse subparsers object; returns the ``rules`` parser.

    The ``regenerate`` parser sets ``func`` to a callable taking the parsed arguments
    and returning the exit status, so a main CLI runs ``args.func(args)``.
    """
    rules = subparsers.add_parser(
        "rules", help="work with the compiled rule files", description="Compiled rule files."
    )
    actions = rules.add_subparsers(dest="rules_command", metavar="COMMAND", required=True)
    regen = actions.add_parser(
        "regenerate",
        help="rebuild DIR/rules/*.yaml from the definitions markdown",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    regen.add_argument(
        "--definitions",
        metavar="DIR",
        type=Path,
        default=None,
        help="the definitions folder (default: the bundled definitions: the project's "
        "definitions/ in a source checkout)",
    )
    regen.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when the rule files are stale",
    )
    regen.add_argument(
        "--impact",
        nargs="+",
        metavar="CORPUS",
        default=None,
        help="validate these inputs (files, folders, globs, NDJSON) with the rules before "
        "and after the change, and report which resources change verdict per constraint",
    )
    regen.set_defaults(func=run_regenerate)
    lint = actions.add_parser(
        "lint",
        help="check every constraint statically: pooled repeats, type errors, dead rules",
        description=_LINT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint.add_argument(
        "--definitions",
        metavar="DIR",
        type=Path,
        default=None,
        help="the definitions folder (default: the project's definitions/)",
    )
    lint.add_argument(
        "--rules",
        metavar="FILE",
        default=None,
        help="a local-rules YAML file: its constraints are checked too, and its lint: "
        "entries silence findings (see docs/rules.md)",
    )
    lint.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one line per finding and a summary (default); json: one object per "
        "finding and line, silenced ones included",
    )
    lint.add_argument("--strict", action="store_true", help="exit 1 on warnings too (for CI)")
    lint.set_defaults(func=run_lint)
    return rules


def run_regenerate(args: argparse.Namespace) -> int:
    """Run ``rules regenerate`` for parsed arguments; returns the exit status."""
    if args.definitions is not None:
        folder, label, installed = args.definitions, None, False
    else:
        folder, label = _default_definitions(), BUNDLED_LABEL
        installed = PROJECT_DEFINITIONS.is_relative_to(_PACKAGE)
    try:
        if getattr(args, "impact", None):
            # Imported here: impact validates, which ``regenerate`` alone never needs.
            from engine.cli.impact import ImpactError, impact

            # The old rules are read before anything is written.
            checked = regenerate(folder, check=True, label=label)
            try:
                report = impact(folder, args.impact, checked)
            except ImpactError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            # The installed package's files are only ever compared, never written.
            write = not (args.check or installed)
            result = regenerate(folder, label=label) if write else checked
            impact_text: str | None = report.text()
        else:
            result = regenerate(folder, check=args.check or installed, label=label)
            impact_text = None
    except DefinitionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if installed and result.stale:
        # What differs, without the summary's last line: advice to regenerate and commit
        # that folder, which does not apply to an installed package.
        print(result.summary().rpartition("\n")[0])
        print(
            f"The rule files bundled in the installed package ({folder}) do not match its "
            "definitions: reinstall the package. To regenerate rule files, run this "
            "command on a definitions folder you may write to: "
            f"{REGENERATE_COMMAND} --definitions DIR",
            file=sys.stderr,
        )
        return 1 if args.check else 2
    print(result.summary())
    if impact_text is not None:
        print()
        print(impact_text)
    return 1 if args.check and result.stale else 0


def run_lint(args: argparse.Namespace) -> int:
    """Run ``rules lint`` for parsed arguments; returns the exit status."""
    folder = args.definitions if args.definitions is not None else _default_definitions()
    try:
        result = lint_folder(folder, rules_file=args.rules)
    except DefinitionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        for line in result.json_lines():
            print(line)
    else:
        print(result.text())
    return result.exit_status(strict=args.strict)


def _default_definitions() -> Path:
    """The project's definitions folder, named relative to the working directory when
    it is below it, so that headers and messages read ``definitions``."""
    try:
        return PROJECT_DEFINITIONS.relative_to(Path.cwd())
    except ValueError:
        return PROJECT_DEFINITIONS


def main(argv: list[str] | None = None) -> int:
    """Run the ``rules`` commands on their own: ``python -m engine.cli.rules regenerate
    --check``, ``python -m engine.cli.rules lint``."""
    parser = argparse.ArgumentParser(prog="python -m engine.cli.rules")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_rules_subcommand(subparsers)
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Standalone, the ``rules`` word is optional: ``regenerate --check`` is enough.
    if not arguments or arguments[0] != "rules":
        arguments.insert(0, "rules")
    args = parser.parse_args(arguments)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
