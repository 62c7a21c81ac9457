"""Shared fixtures: the project's definitions, a validator over them, the official examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import engine
from tests.imagingselection_examples import CURRENT_MODEL, OLDER_MODEL, load

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "definitions"


@pytest.fixture(scope="session")
def definitions() -> engine.Definitions:
    return engine.load_definitions(DEFINITIONS)


@pytest.fixture(scope="session")
def validator(definitions: engine.Definitions) -> engine.Validator:
    return engine.Validator(definitions)


@pytest.fixture(scope="session")
def official_examples(definitions: engine.Definitions) -> dict[str, dict[str, Any]]:
    """Every official ImagingSelection example, parsed (XML through the FHIR XML reader)."""
    names = CURRENT_MODEL + OLDER_MODEL
    return {name: load(name, definitions) for name in names}


@pytest.fixture()
def example(official_examples: dict[str, dict[str, Any]]):
    """A fresh deep copy of one current-model example, by short name (``"mg"``)."""

    def get(short: str) -> dict[str, Any]:
        matches = [n for n in CURRENT_MODEL if n.startswith(f"imagingselection-example-{short}")]
        assert len(matches) == 1, f"no single current-model example named {short!r}"
        return copy.deepcopy(official_examples[matches[0]])

    return get
