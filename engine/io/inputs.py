"""Reading inputs: files, folders, globs and standard input, in FHIR JSON, NDJSON or XML.

Reading happens in two steps so that the expensive one can run in worker processes:

1. :func:`read` walks the inputs and yields one :class:`RawResource` (the bytes of one
   resource: a JSON or XML file, or one NDJSON line) or one :class:`Unreadable` (a path
   that cannot be read at all), in input order. It is cheap and streams: an NDJSON file
   is read line by line.
2. :func:`parse` turns a :class:`RawResource` into the FHIR JSON value, converting XML
   with the definitions; it raises :class:`InputError` (with the line and column) for
   text that is not a well-formed resource.

A Bundle is one resource: the validator walks its entries.

    >>> for raw in read(["examples/imagingselection/*.xml", "no/such/*.ndjson"]):
    ...     if isinstance(raw, Unreadable):
    ...         print(raw.source, "-", raw.message)
    ...     else:
    ...         resource = parse(raw, defs)   # raises InputError: raw.source and the line
    no/such/*.ndjson - no file matches this pattern
    >>> resource["resourceType"]
    'ImagingSelection'
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from engine.io.fhir_xml import XmlInputError, read_xml
from engine.model import Definitions
from engine.model.numbers import JsonNumber
from engine.validation.report import Issue

Syntax = Literal["json", "xml"]

#: File name endings read when walking a folder, and the syntax each implies.
EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".xml": "xml",
}
STDIN = "-"
_STDIN_NAME = "<stdin>"
_GLOB_CHARS = frozenset("*?[")
#: The longest resource text read (a JSON or XML document, one NDJSON line): a
#: stream that never ends (a device) must not exhaust memory.
MAX_RESOURCE_BYTES = 1 << 30
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class RawResource:
    """The unparsed text of one resource and where it came from.

    ``source`` names it for people (``data/a.json``, ``data/b.ndjson:7``); ``file`` is
    the file it belongs to; ``line`` is the file line where ``data`` starts, so that
    positions inside an NDJSON line are reported as file lines.
    """

    source: str
    file: str
    data: bytes
    syntax: Syntax
    line: int = 1


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An input that cannot be read at all: a missing path, a permission error, a glob
    that matches nothing."""

    source: str
    message: str

    @property
    def file(self) -> str:
        return self.source


class InputError(ValueError):
    """The text of one resource is not well-formed FHIR JSON or XML.

    >>> str(InputError("Expecting ',' delimiter", "a.ndjson:7", 7, 12))
    "a.ndjson:7: line 7, column 12: Expecting ',' delimiter"
    """

    def __init__(
        self, message: str, source: str, line: int | None = None, column: int | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(
            f"{source}: {self.position}: {message}" if line else f"{source}: {message}"
        )

    @property
    def position(self) -> str:
        """``line 7, column 12`` (or ``line 7``); empty when unknown."""
        if self.line is None:
            return ""
        return f"line {self.line}" + (f", column {self.column}" if self.column else "")


def read(
    inputs: Iterable[str], stdin: BinaryIO | None = None
) -> Iterator[RawResource | Unreadable]:
    """Every resource text in ``inputs``, in order.

    Each input is a file, a folder (read recursively: ``*.json``, ``*.ndjson``,
    ``*.jsonl``, ``*.xml``, hidden entries skipped, in sorted order), a glob pattern
    (``data/**/*.json``) or ``-`` for standard input (``stdin``, default
    ``sys.stdin.buffer``). The syntax comes from the file name ending; standard input
    and other names are sniffed: XML starts with ``<``, NDJSON has a complete JSON
    value on its first line and more lines after it.

    Folders and globs yield regular files only (a FIFO or a device there could block
    or never end); a FIFO or device named itself is read as a stream, as standard
    input is. NDJSON lines end at ``\n`` (a ``\r`` before it is dropped), from a file
    and from a stream alike: a lone ``\r`` does not end a line. One resource (a JSON
    or XML document, an NDJSON line) may be at most :data:`MAX_RESOURCE_BYTES` long.
    """
    for path in expand(inputs):
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield from _read_stream(_STDIN_NAME, stream, None)
        elif isinstance(path, Path):
            yield from _read_file(path)
        elif isinstance(path, Unreadable):
            yield path


def expand(inputs: Iterable[str]) -> Iterator[Path | Unreadable | str]:
    """The files ``inputs`` name, in order: a :class:`Path` per file, ``"-"`` for
    standard input, an :class:`Unreadable` for a path or pattern that names nothing."""
    for item in inputs:
        if item == STDIN:
            yield STDIN
        else:
            yield from _expand(item)


@dataclass(frozen=True, slots=True)
class Parsed:
    """One resource text read: its FHIR JSON value, and what its syntax got wrong that
    the JSON cannot show (FHIR XML's element order and attributes)."""

    resource: Any
    issues: tuple[Issue, ...] = ()


def parse(raw: RawResource, definitions: Definitions) -> Any:
    """The FHIR JSON value of one resource text; XML is converted with ``definitions``.
    (:func:`parse_with_issues` also gives the issues of the XML itself.)

    Raises :class:`InputError` for text that is not UTF-8, not JSON (duplicate
    properties and ``NaN`` included: FHIR JSON forbids them) or not FHIR XML.

    A JSON number with a fraction or an exponent becomes a
    :class:`~engine.model.numbers.JsonNumber` (a ``Decimal`` that keeps the text as
    written), a whole number an ``int``: nothing is rounded to a binary float.
    """
    return parse_with_issues(raw, definitions).resource


def parse_with_issues(raw: RawResource, definitions: Definitions) -> Parsed:
    """:func:`parse`, with the issues of an XML document's form (elements out of the
    order the definitions give, attributes FHIR does not define), which validating
    the JSON cannot find. Raises :class:`InputError` as :func:`parse` does."""
    try:
        return _parse(raw, definitions)
    except RecursionError:
        raise InputError("nested too deeply to read", raw.source) from None


def _parse(raw: RawResource, definitions: Definitions) -> Parsed:
    if raw.syntax == "xml":
        try:
            document = read_xml(raw.data, definitions)
            return Parsed(document.resource, document.issues)
        except XmlInputError as e:
            line = None if e.line is None else e.line + raw.line - 1
            raise InputError(e.message, raw.source, line, e.column) from None
    try:
        text = raw.data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.data.count(b"\n", 0, e.start) + raw.line
        raise InputError(f"not UTF-8 text ({e.reason})", raw.source, line) from None
    try:
        return Parsed(
            json.loads(
                text,
                object_pairs_hook=_no_duplicates,
                parse_constant=_no_constant,
                parse_float=JsonNumber,
            )
        )
    except json.JSONDecodeError as e:
        raise InputError(
            f"invalid JSON: {e.msg}", raw.source, e.lineno + raw.line - 1, e.colno
        ) from None
    except ValueError as e:
        raise InputError(f"invalid JSON: {e}", raw.source) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate property '{key}'")
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number")


def _expand(item: str) -> Iterator[Path | Unreadable]:
    path = Path(item)
    if path.is_dir():
        yield from _walk(path, item)
    elif path.exists() or not _GLOB_CHARS.intersection(item):
        yield path
    else:
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            yield Unreadable(item, "no file matches this pattern")
        for match in matches:
            match_path = Path(match)
            if match_path.is_dir():
                yield from _walk(match_path, match)
            elif not _is_special(match_path):
                yield match_path


def _walk(folder: Path, item: str) -> Iterator[Path | Unreadable]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        found.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".")
            and Path(name).suffix.lower() in EXTENSIONS
            and not _is_special(Path(dirpath) / name)
        )
    if not found:
        yield Unreadable(item, "no .json, .ndjson, .jsonl or .xml file in this folder")
    # By path components, as `find | sort` would list them: a.json, b/c.xml, d.json.
    yield from sorted(found, key=lambda p: p.parts)


def _is_special(path: Path) -> bool:
    """True for a FIFO, a device, a socket: what folders and globs skip. A path that
    cannot be examined (a broken link) is kept, to be reported as unreadable."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _read_file(path: Path) -> Iterator[RawResource | Unreadable]:
    name = str(path)
    syntax = EXTENSIONS.get(path.suffix.lower())
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode) or stat.S_ISSOCK(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a socket"
            yield Unreadable(name, f"cannot read: it is {kind}, not a file or a stream")
            return
        with path.open("rb") as stream:
            yield from _read_stream(name, stream, syntax)
    except FileNotFoundError:
        yield Unreadable(name, "no such file or directory")
    except OSError as e:
        yield Unreadable(name, f"cannot read: {e.strerror or e}")


def _read_stream(
    name: str, stream: BinaryIO, syntax: str | None
) -> Iterator[RawResource | Unreadable]:
    """The resources of a file or stream: NDJSON line by line, anything else whole."""
    head: list[bytes] = []
    if syntax != "ndjson":
        head = _head(stream)
        if syntax is not None or not _is_ndjson(head):
            data = b"".join(head)
            data += stream.read(MAX_RESOURCE_BYTES + 1 - len(data))
            if len(data) > MAX_RESOURCE_BYTES:
                yield _too_long(name)
                return
            syntax = syntax or _sniff(data)
            yield RawResource(name, name, data, "xml" if syntax == "xml" else "json")
            return
    lines = itertools.chain(head, iter(lambda: _line(stream), b""))
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_RESOURCE_BYTES:
            yield _too_long(f"{name}:{number}")
            return
        if line.strip():
            # Without its line break, an error at the end of the line stays on it.
            yield RawResource(f"{name}:{number}", name, line.rstrip(b"\r\n"), "json", number)


def _head(stream: BinaryIO) -> list[bytes]:
    """The first lines of a stream, up to its second non-blank line (enough to tell
    NDJSON), or all of it when shorter; at most the size limit."""
    lines: list[bytes] = []
    size = non_blank = 0
    while non_blank < 2 and size <= MAX_RESOURCE_BYTES:
        line = _line(stream)
        if not line:
            break
        lines.append(line)
        size += len(line)
        non_blank += bool(line.strip())
    return lines


def _is_ndjson(head: list[bytes]) -> bool:
    """NDJSON has a complete JSON value on its first line and more text after it."""
    non_blank = [line for line in head if line.strip()]
    if len(non_blank) < 2 or non_blank[0].lstrip(b"\xef\xbb\xbf \t\r").startswith(b"<"):
        return False
    try:
        json.loads(non_blank[0].removeprefix(b"\xef\xbb\xbf"))
    except ValueError:
        return False
    return True


def _line(stream: BinaryIO) -> bytes:
    """One line, up to and including its ``\n``; longer than the limit when too long."""
    return stream.readline(MAX_RESOURCE_BYTES + 1)


def _too_long(source: str) -> Unreadable:
    return Unreadable(source, f"cannot read: longer than {MAX_RESOURCE_BYTES} bytes")


def _sniff(data: bytes) -> str:
    text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if text.startswith(b"<") else "json"
