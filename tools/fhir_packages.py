"""The official FHIR R5 packages, fetched from the npm registry, and corpora drawn from them.

Tests and benchmarks that need more official data than the few files vendored under
``tests/fixtures`` (thousands of examples) read the published package instead of a copy:

    python tools/fhir_packages.py fetch          # what `make test` runs first

downloads ``hl7.fhir.r5.examples`` and ``hl7.fhir.r5.core`` 5.0.0 from the npm registry
(a package registry, reachable in CI), checks each against the sha512 integrity the
registry publishes (pinned here, so a changed file is refused, never used), and keeps them
in ``.cache/fhir-packages/`` in the project (``$FHIR_PACKAGE_CACHE`` to put them elsewhere).
Functions that need a package fetch it on first use.

The corpora:

- :func:`examples`: every example resource of the package, ``(file name, bytes)`` in archive
  order (2,822 of them);
- :func:`mixed_corpus`: the benchmark corpus, every example file of at most 30 KB, at most
  60 of any one resource type (1,174 resources of 155 types, 4.6 KB on average).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import tarfile
import tempfile
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    #: The registry's ``dist.integrity`` for this version.
    integrity: str

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.file_name}"


EXAMPLES = Package(
    "hl7.fhir.r5.examples",
    "5.0.0",
    "sha512-+fOu1d5DqAQMorvTVx0bYrnTPl+Z2YovBkLMcJf6E+jMh61+SbeAEWqzxyO/wE7LBots7hBXwy8tN7n6iBRjOw==",
)
CORE = Package(
    "hl7.fhir.r5.core",
    "5.0.0",
    "sha512-0TvJB1KKtokn/P2mRwcqEY8v8RN8IE/pQjvtlsPaJdYaDfYx4UBhuY4afAGeQjW01p9SNYPphxAFFkEsS6P05A==",
)


def cache_dir() -> Path:
    explicit = os.environ.get("FHIR_PACKAGE_CACHE")
    return Path(explicit) if explicit else ROOT / ".cache" / "fhir-packages"


def package_path(package: Package = EXAMPLES) -> Path:
    """The package's ``.tgz``, downloaded and checked on first use."""
    path = cache_dir() / package.file_name
    if path.is_file() and _integrity(path.read_bytes()) == package.integrity:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(package.url, timeout=120) as response:
        data = response.read()
    if _integrity(data) != package.integrity:
        raise RuntimeError(f"{package.url}: the download does not match its published integrity")
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
    return path


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def examples(package: Package = EXAMPLES) -> Iterator[tuple[str, bytes]]:
    """``(file name, bytes)`` of every example resource in the package, in archive order
    (reading a .tgz out of order decompresses it again for every backward seek)."""
    with tarfile.open(package_path(package)) as tar:
        for member in tar:
            name = member.name.removeprefix("package/")
            if not member.isfile() or not name.endswith(".json") or "/" in name:
                continue
            if name in (".index.json", "package.json"):
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                yield name, handle.read()


def resource_type(data: bytes) -> str | None:
    try:
        value = json.loads(data)
    except ValueError:
        return None
    kind = value.get("resourceType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None


def mixed_corpus(max_bytes: int = 30_000, per_type: int = 60) -> list[tuple[str, bytes]]:
    """Every example of at most ``max_bytes``, at most ``per_type`` of any resource type,
    in archive order."""
    taken: Counter[str] = Counter()
    corpus = []
    for name, data in examples():
        if len(data) > max_bytes:
            continue
        kind = resource_type(data) or "?"
        if taken[kind] >= per_type:
            continue
        taken[kind] += 1
        corpus.append((name, data))
    return corpus


def main(argv: list[str]) -> int:
    if argv != ["fetch"]:
        print("usage: python tools/fhir_packages.py fetch", file=sys.stderr)
        return 2
    for package in (EXAMPLES, CORE):
        print(f"{package.file_name}: {package_path(package)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
