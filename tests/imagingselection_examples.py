"""The official ImagingSelection examples vendored in tests/fixtures/imagingselection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import engine
from engine.io.fhir_xml import xml_to_json

FOLDER = Path(__file__).parent / "fixtures" / "imagingselection"

#: The four official examples written against the current ImagingSelection model
#: (see tests/fixtures/imagingselection/README.md).
CURRENT_MODEL = (
    "imagingselection-example-mg-image-selection.xml",
    "imagingselection-example-rt-structure-set-region-selection.xml",
    "imagingselection-example-single-frame-image-selection.xml",
    "imagingselection-example-waveform-channel-selection.xml",
)

#: The examples written against older models of the resource.
OLDER_MODEL = tuple(
    sorted(p.name for p in FOLDER.glob("imagingselection-example-*") if p.name not in CURRENT_MODEL)
)


def load(name: str, definitions: engine.Definitions) -> dict[str, Any]:
    """One example parsed to FHIR JSON (XML through the project's FHIR XML reader)."""
    text = (FOLDER / name).read_text(encoding="utf-8")
    return xml_to_json(text, definitions) if name.endswith(".xml") else json.loads(text)
