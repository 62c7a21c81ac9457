"""The README's claims that can drift: the list of constraints the engine cannot evaluate."""

from __future__ import annotations

import re

from engine.fhirpath.analysis import functions_used
from engine.fhirpath.reference.evaluator import supported_functions
from engine.rules.loader import load_rules
from tests.conftest import DEFINITIONS, ROOT


def test_readme_lists_exactly_the_constraints_not_evaluated() -> None:
    definitions = load_rules(DEFINITIONS)
    supported = supported_functions()
    expected = set()
    for name in definitions:
        for c in definitions[name].constraints:
            missing = sorted(functions_used(c.expression) - supported)
            if missing:
                needs = ", ".join(f"{m}()" for m in missing)
                expected.add((c.key, name, c.context, needs))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- not-evaluated:start -->")[1].split("<!-- not-evaluated:end -->")[0]
    rows = re.findall(r"^\s*\| (\S+) \| (\S+) \| (\S+) \| (.+?) \|$", table, re.MULTILINE)
    listed = {row for row in rows if row[0] not in ("key", "---")}
    assert listed == expected
    assert len(expected) >= 10  # resolve() and memberOf() constraints exist in R5
