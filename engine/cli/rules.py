"""The ``rules`` command: ``fhir-invariants rules regenerate [--definitions DIR] [--check]``.

The main command line (:mod:`engine.cli.app`) adds it with :func:`add_rules_subcommand`; it
also runs on its own, which is what CI can call::

    python -m engine.cli.rules regenerate --check

Exit status: 0 when the rule files are up to date (or were regenerated), 1 when
``--check`` finds them stale (the summary says what differs), 2 when a definition is
invalid (the error names the file and line).

Without ``--definitions`` the command acts on the bundled definitions: the project's
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
Exit status: 0 up to date or regenerated, 1 stale (--check), 2 invalid definitions."""


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
    regen.set_defaults(func=run_regenerate)
    return rules


def run_regenerate(args: argparse.Namespace) -> int:
    """Run ``rules regenerate`` for parsed arguments; returns the exit status."""
    if args.definitions is not None:
        folder, label, installed = args.definitions, None, False
    else:
        folder, label = _default_definitions(), BUNDLED_LABEL
        installed = PROJECT_DEFINITIONS.is_relative_to(_PACKAGE)
    try:
        # The installed package's files are only ever compared, never written.
        result = regenerate(folder, check=args.check or installed, label=label)
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
    return 1 if args.check and result.stale else 0


def _default_definitions() -> Path:
    """The project's definitions folder, named relative to the working directory when
    it is below it, so that headers and messages read ``definitions``."""
    try:
        return PROJECT_DEFINITIONS.relative_to(Path.cwd())
    except ValueError:
        return PROJECT_DEFINITIONS


def main(argv: list[str] | None = None) -> int:
    """Run ``regenerate`` on its own: ``python -m engine.cli.rules regenerate --check``."""
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
