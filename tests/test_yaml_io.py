"""The YAML helpers: the scalar writer and the fast block-subset reader agree with PyYAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.definitions.yaml_io import LineIndex, load_block_yaml, load_yaml, scalar
from engine.model import DefinitionError

RULES = Path(__file__).resolve().parent.parent / "definitions" / "rules"


def pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=yaml.SafeLoader)


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=20,
)


@settings(max_examples=500, deadline=None)
@given(_text, st.booleans())
def test_scalar_reads_back_as_the_same_string(value: str, flow: bool) -> None:
    written = scalar(value, flow=flow)
    document = f"k: [{written}, z]\n" if flow else f"k: {written}\n"
    for loader in (yaml.SafeLoader, yaml.CSafeLoader):
        data = yaml.load(document, Loader=loader)
        assert (data["k"][0] if flow else data["k"]) == value
    assert load_block_yaml(document) in (None, pyyaml(document))


def test_scalar_writes_other_types_plainly() -> None:
    assert [scalar(None), scalar(True), scalar(False), scalar(12)] == [
        "null",
        "true",
        "false",
        "12",
    ]


def test_every_compiled_rule_file_is_in_the_fast_subset() -> None:
    files = sorted(RULES.glob("*.yaml"))
    assert files
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = load_block_yaml(text)
        assert fast is not None, path.name
        assert fast == yaml.load(text, Loader=yaml.CSafeLoader), path.name


# Lines that are, or are close to, the subset: awkward keys (YAML 1.1 booleans), values
# with comments, anchors, quotes, escapes, flow collections, stray spaces and tabs.
_keys = st.sampled_from(["a", "b", "path", "content-reference", "on", "no", "null", "1", "k_2"])
_usual_values = st.sampled_from(
    [
        "x",
        "0..*",
        "12",
        "true",
        "null",
        "[a, b]",
        "[]",
        "{k: v, l: w}",
        '"q: r"',
        '"tab\\there"',
        "http://x.org/a|1",
        "available | entered-in-error",
        "seriesUid.exists() or imageRegion3D.exists()",
        "matches('^[^|# ]+$')",
    ]
)
_tricky_values = st.one_of(
    st.sampled_from(
        [
            "",
            "x",
            "0..*",
            "12",
            "012",
            "-3",
            "1.5",
            "true",
            "True",
            "yes",
            "null",
            "~",
            "a #c",
            "a: b",
            "x:",
            "&a x",
            "*a",
            "!!str 1",
            "'q'",
            '"q"',
            '"a\\x41"',
            '"a\\u00e9"',
            '"\\ud83d\\ude00"',
            '"a\\/b"',
            '"a" #c',
            "[]",
            "[a, b]",
            "[a,b]",
            "[a, [b]]",
            '["a", b]',
            "[a, b: c]",
            "[http://x.org/a]",
            "{k: v, l: w}",
            "{k: v, k: w}",
            "{k: }",
            "{}",
            "|",
            ">-",
            "x ",
            " x",
            "\tx",
        ]
    ),
    _text.filter(lambda s: "\n" not in s and "\r" not in s),
)
# Mostly values of the subset, so that many documents are valid and compared in full.
_values = st.integers(0, 9).flatmap(lambda n: _tricky_values if n < 2 else _usual_values)


def _render(draw: st.DrawFn, indent: int, depth: int) -> list[str]:
    """A block mapping at ``indent``: keys with values, nested mappings or lists of them."""
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        key, pad = draw(_keys), " " * indent
        shape = draw(st.sampled_from(["value", "value", "map", "list"] if depth else ["value"]))
        if shape == "value":
            value = draw(_values)
            lines.append(f"{pad}{key}:{' ' + value if value else ''}")
        elif shape == "map":
            lines += [f"{pad}{key}:", *_render(draw, indent + 2, depth - 1)]
        else:
            lines.append(f"{pad}{key}:")
            for _ in range(draw(st.integers(1, 2))):
                item = _render(draw, indent + 4, depth - 1)
                lines += [f"{pad}  - {item[0].lstrip()}", *item[1:]]
    return lines


@st.composite
def near_subset_texts(draw: st.DrawFn) -> str:
    """Well-formed block documents, some lines then disturbed: re-indented, given a dash,
    or followed by a comment, a blank, a document marker or a stray word."""
    lines = _render(draw, 0, 2)
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(lines) - 1))
        change = draw(st.sampled_from(["indent", "dash", "insert"]))
        if change == "indent":
            lines[at] = " " * draw(st.integers(0, 3)) + lines[at]
        elif change == "dash":
            lines[at] = "- " + lines[at]
        else:
            lines.insert(at, draw(st.sampled_from(["# note", "", "---", "  # indented", "x"])))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=1500, deadline=None)
@given(near_subset_texts())
def test_fast_reader_agrees_with_pyyaml_or_declines(text: str) -> None:
    fast = load_block_yaml(text)
    try:
        expected = pyyaml(text)
    except yaml.YAMLError:
        assert fast is None
        return
    if fast is not None:
        assert fast == expected
        assert [type(v) for v in _leaves(fast)] == [type(v) for v in _leaves(expected)]


def _leaves(data: Any) -> list[Any]:
    if isinstance(data, dict):
        return [leaf for k, v in data.items() for leaf in (k, *_leaves(v))]
    if isinstance(data, list):
        return [leaf for v in data for leaf in _leaves(v)]
    return [data]


def test_load_yaml_reports_file_and_line() -> None:
    with pytest.raises(DefinitionError) as caught:
        load_yaml("a: 1\nb: [x\n", "f.yaml")
    assert str(caught.value).startswith("f.yaml:3: malformed YAML")


def test_line_index_points_at_keys_items_and_values() -> None:
    lines = LineIndex("a:\n  - x: 1\n    y:\n      - 2\n  - z: 3\nb: 4\n")
    assert lines.line(("a", 0, "y")) == 3
    assert lines.line(("a", 0, "y", 0)) == 4
    assert lines.line(("a", 1)) == 5
    assert lines.line(("b",)) == 6
    assert lines.line(("a", 7, "q")) == 2  # the list: item 7 does not exist
