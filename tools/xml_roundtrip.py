"""Check the FHIR XML converter on every official R5 example: JSON → XML → JSON.

Each example's JSON is written as FHIR XML by the small writer below (it needs no
definitions: the JSON shape says what is an attribute, a primitive or a nested
resource), converted back with ``engine.io.fhir_xml.xml_to_json`` and compared with the
original, leaf by leaf. Narrative ``div`` strings are compared in their canonical form
(``engine.io.fhir_xml.canonical_xhtml``), which leaves out how the XHTML was written.

    python tools/xml_roundtrip.py --examples /tmp/r5/hl7.fhir.r5.examples-5.0.0.tgz \\
        --definitions definitions

The tarball comes from ``npm pack hl7.fhir.r5.examples@5.0.0``. Prints the number of
examples checked and each difference; exits 1 when any example differs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tarfile
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import quoteattr

import engine
from engine.io.fhir_xml import canonical_xhtml, xml_to_json
from engine.model.numbers import JsonNumber

_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


class NotXml(ValueError):
    """The JSON has a shape FHIR XML cannot express (a property name that is not an
    XML name, an array of arrays): some official examples do."""


def _normal_div(div: str) -> str:
    try:
        return canonical_xhtml(div)
    except ValueError:
        return div


def to_xml(resource: dict[str, Any]) -> str:
    """The FHIR XML of a FHIR JSON resource (element order as in the JSON)."""
    parts: list[str] = []
    _resource(
        resource, parts, '<?xml version="1.0" encoding="UTF-8"?>', ' xmlns="http://hl7.org/fhir"'
    )
    return "".join(parts)


def _resource(resource: dict[str, Any], parts: list[str], prefix: str = "", ns: str = "") -> None:
    rtype = resource["resourceType"]
    parts.append(f"{prefix}<{rtype}{ns}>")
    _members(resource, parts, is_resource=True)
    parts.append(f"</{rtype}>")


def _is_resource(value: dict[str, Any]) -> bool:
    # Some backbone elements have an element named resourceType (Subscription.filterBy).
    rtype = value.get("resourceType")
    return isinstance(rtype, str) and rtype[:1].isupper() and bool(_XML_NAME.match(rtype))


def _members(obj: dict[str, Any], parts: list[str], is_resource: bool = False) -> None:
    names = [k for k in obj if not (is_resource and k == "resourceType") and k[:1] != "_"]
    names += [k[1:] for k in obj if k.startswith("_") and k[1:] not in obj]
    for name in names:
        value = obj.get(name)
        extra = obj.get("_" + name)
        if not is_resource and name == "id" and isinstance(value, str):
            continue
        if isinstance(value, list) or isinstance(extra, list):
            values = value if isinstance(value, list) else [None] * len(extra)
            extras = extra if isinstance(extra, list) else [None] * len(values)
            for v, e in zip(values, extras, strict=True):
                _element(name, v, e, parts)
        else:
            _element(name, value, extra, parts)


def _element(name: str, value: Any, extra: Any, parts: list[str]) -> None:
    if not _XML_NAME.match(name) or isinstance(value, list):
        raise NotXml(f"'{name}' cannot be written as FHIR XML")
    if name == "div" and isinstance(value, str):
        parts.append(value)
        return
    if isinstance(value, dict) and _is_resource(value):
        parts.append(f"<{name}>")
        _resource(value, parts)
        parts.append(f"</{name}>")
        return
    attrs = ""
    if isinstance(value, dict):
        if isinstance(value.get("id"), str):
            attrs += f" id={quoteattr(value['id'])}"
        if name in ("extension", "modifierExtension") and "url" in value:
            attrs += f" url={quoteattr(value['url'])}"
            value = {k: v for k, v in value.items() if k != "url"}
        parts.append(f"<{name}{attrs}>")
        _members(value, parts)
        parts.append(f"</{name}>")
        return
    if value is not None:
        if isinstance(value, JsonNumber):
            text = value.text
        else:
            text = json.dumps(value) if isinstance(value, bool | int | float) else str(value)
        attrs += f" value={quoteattr(text)}"
    if isinstance(extra, dict) and isinstance(extra.get("id"), str):
        attrs = f" id={quoteattr(extra['id'])}" + attrs
    if isinstance(extra, dict) and any(k != "id" for k in extra):
        parts.append(f"<{name}{attrs}>")
        _members({k: v for k, v in extra.items() if k != "id"}, parts)
        parts.append(f"</{name}>")
    else:
        parts.append(f"<{name}{attrs}/>")


def differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    """Where two JSON values differ, as ``path: left != right`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                side = "converted" if key in a else "original"
                yield f"{path}.{key}: only in the {side}"
            elif key == "div" and isinstance(a[key], str) and isinstance(b[key], str):
                if _normal_div(a[key]) != _normal_div(b[key]):
                    yield f"{path}.div: {a[key][:80]!r} != {b[key][:80]!r}"
            else:
                yield from differences(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield f"{path}: {json.dumps(a, default=repr)[:80]} != {json.dumps(b, default=repr)[:80]}"


def _examples(tarball: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with tarfile.open(tarball) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.name.endswith(".json") or member.name.endswith("package.json"):
                continue
            stream = tar.extractfile(member)
            if stream is None:
                continue
            data = json.load(stream, parse_float=JsonNumber)
            if isinstance(data, dict) and "resourceType" in data:
                yield member.name, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", required=True, help="hl7.fhir.r5.examples .tgz")
    parser.add_argument("--definitions", default="definitions")
    args = parser.parse_args(argv)
    defs = engine.load_definitions(args.definitions)
    checked = failed = skipped = 0
    for name, original in _examples(args.examples):
        try:
            xml = to_xml(original)
        except NotXml as e:
            skipped += 1
            print(f"{name}: skipped: {e}")
            continue
        checked += 1
        try:
            converted = xml_to_json(xml.encode(), defs)
        except ValueError as e:
            failed += 1
            print(f"{name}: {e}")
            continue
        found = list(differences(converted, original))
        if found:
            failed += 1
            print(f"{name}: {len(found)} differences")
            for line in found[:10]:
                print(f"    {line}")
    print(
        f"{checked} examples checked, {checked - failed} identical after JSON → XML → JSON,"
        f" {skipped} skipped"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
