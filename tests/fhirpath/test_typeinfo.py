"""The fhirpathpy model built from definitions, on the R5 types and the seed definitions."""

from __future__ import annotations

from pathlib import Path

import fhirpathpy.models
import pytest

import engine
from engine.fhirpath import evaluate
from engine.fhirpath.typeinfo import fhirpathpy_model

from .r5 import r5_definitions
from .suite import suite_input

_SEED = Path(__file__).resolve().parents[2] / "definitions" / "ImagingSelection.md"


@pytest.fixture(scope="module")
def r5_model():
    return fhirpathpy_model(r5_definitions())


def test_choice_elements(r5_model):
    assert r5_model["choiceTypePaths"]["Observation.value"][:3] == [
        "Quantity",
        "CodeableConcept",
        "String",
    ]
    assert r5_model["path2Type"]["Observation.valueQuantity"] == "Quantity"
    assert r5_model["path2Type"]["Observation.valueDateTime"] == "dateTime"
    assert "Observation.value" not in r5_model["path2Type"]


def test_inherited_and_backbone_elements(r5_model):
    path_types = r5_model["path2Type"]
    assert path_types["Observation.meta"] == "Meta"
    assert path_types["Observation.component.extension"] == "Extension"
    assert path_types["Observation.component.code"] == "CodeableConcept"
    assert "Observation.component" not in path_types
    assert r5_model["type2Parent"]["Age"] == "Quantity"
    assert r5_model["pathsDefinedElsewhere"]["Questionnaire.item.item"] == "Questionnaire.item"


def test_agrees_with_fhirpathpys_own_r5_model(r5_model):
    theirs = fhirpathpy.models.models["r5"]
    ours = r5_model["path2Type"]
    disagreements = {
        path: (ours.get(path), kind)
        for path, kind in theirs["path2Type"].items()
        # Theirs types ids as System.String; MetadataResource is a profile, not a type.
        if kind != "System.String" and not path.startswith("MetadataResource.")
        if ours.get(path) != kind
    }
    assert disagreements == {}
    assert r5_model["pathsDefinedElsewhere"] == theirs["pathsDefinedElsewhere"]
    assert {k: v for k, v in theirs["choiceTypePaths"].items() if "Metadata" not in k} == (
        r5_model["choiceTypePaths"]
    )


def test_the_model_decides_choice_navigation_and_type_tests(r5_model):
    observation = suite_input("observation-example.json")
    assert evaluate("value.code", observation, model=r5_model) == ["[lb_av]"]
    assert evaluate("value is Quantity", observation, model=r5_model) == [True]
    assert evaluate("value is Age", observation, model=r5_model) == [False]


def test_seed_definitions():
    model = fhirpathpy_model(engine.load_definitions(_SEED))
    assert model["path2Type"]["ImagingSelection.instance.imageRegion2D.coordinate"] == "decimal"
    assert model["path2Type"]["ImagingSelection.studyUid"] == "id"
    assert "ImagingSelection.instance" not in model["path2Type"]
    assert model["type2Parent"] == {"ImagingSelection": "DomainResource"}
    assert model["choiceTypePaths"] == {}


def test_system_types_are_named_as_fhirpathpy_names_them():
    from engine.model import (
        Cardinality,
        Definitions,
        ElementDefinition,
        Source,
        StructureDefinition,
        TypeRef,
    )

    source = Source("T.md", 1)
    system_string = TypeRef("http://hl7.org/fhirpath/System.String")
    elements = (
        ElementDefinition("Thing", "", Cardinality(0, None), source),
        ElementDefinition("Thing.key", "", Cardinality(0, 1), source, types=(system_string,)),
    )
    thing = StructureDefinition("Thing", "resource", None, elements, source)
    model = fhirpathpy_model(Definitions({"Thing": thing}))
    assert model["path2Type"] == {"Thing.key": "System.String"}
    resource = {"resourceType": "Thing", "key": "k"}
    assert evaluate("key.is(System.String)", resource, model=model) == [True]
