"""Getting a run's definitions to the executors, and one checker per Python worker.

On the driver, :func:`ship` checks the definitions (loading them once, so that a broken
file fails before any job starts, with its file and line) and hands the files the user
named to Spark with ``SparkContext.addFile``: Spark copies them to each executor once,
whatever the number of tasks. What goes into each task's closure is a
:class:`Shipped` value: two file names, a few dozen bytes.

On an executor, :func:`checker` builds the :class:`~engine.io.batch.Checker` (definitions
loaded, validator built) the first time a Python worker process needs it and keeps it
for every later task of that process (Spark reuses Python workers by default,
``spark.python.worker.reuse``).

The bundled definitions are not shipped: they are part of the installed package on
every executor, which reads them from their compiled rules.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from engine.io.batch import Checker
from engine.rules.sources import DefinitionsSource

if TYPE_CHECKING:
    from pyspark import SparkContext

#: Prefix of the names under which definitions and local-rules files are shipped.
_PREFIX = "fhir-invariants"


@dataclass(frozen=True, slots=True)
class Shipped:
    """What an executor needs to find the run's definitions: where each file the user
    named is under ``SparkFiles`` (``name`` for a shipped folder, ``name/file`` for a
    shipped file), or None for the bundled definitions and for no local rules."""

    definitions: str | None = None
    rules: str | None = None

    def source(self) -> DefinitionsSource:
        """The :class:`DefinitionsSource` of the shipped files, as this executor sees them."""
        return DefinitionsSource(_local(self.definitions), _local(self.rules))


def ship(sc: SparkContext, source: DefinitionsSource) -> Shipped:
    """Check ``source``'s definitions here and make their files available to every
    executor of ``sc``; raises :class:`~engine.model.DefinitionError` for invalid ones.

    Each folder or file is shipped in a folder named after a hash of its content, so
    that two runs with different definitions in one session never collide and an edited
    file is shipped anew, while the same files are shipped once per application.
    """
    source.load()
    return Shipped(
        None if source.path is None else _add(sc, Path(source.path)),
        None if source.extra_rules is None else _add(sc, Path(source.extra_rules)),
    )


def _local(shipped: str | None) -> str | None:
    if shipped is None:
        return None
    from pyspark import SparkFiles

    name, _, inner = shipped.partition("/")
    folder = SparkFiles.get(name)
    return os.path.join(folder, inner) if inner else folder


@lru_cache(maxsize=4)
def checker(shipped: Shipped) -> Checker:
    """The checker for ``shipped`` definitions, built once per Python worker process."""
    return Checker(shipped.source().load())


_added: set[tuple[str, str]] = set()


def _add(sc: SparkContext, path: Path) -> str:
    """Copy ``path`` (a folder, or one file) into a folder named after its content and
    add that folder to ``sc``; returns where executors find it (see :class:`Shipped`)."""
    files = _files(path)
    digest = hashlib.sha256()
    for relative, file in files:
        digest.update(f"{relative}\0{file.stat().st_size}\0".encode())
        digest.update(file.read_bytes())
    name = f"{_PREFIX}-{digest.hexdigest()[:20]}"
    where = name if path.is_dir() else f"{name}/{path.name}"
    key = (sc.applicationId, name)
    if key in _added:
        return where
    folder = _staging() / name
    if not folder.exists():
        for relative, file in files:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
    sc.addFile(str(folder), recursive=True)
    _added.add(key)
    return where


def _files(path: Path) -> list[tuple[str, Path]]:
    """The files to ship for ``path``, by their path relative to the shipped folder:
    a folder's files (hidden ones skipped, as the definitions loader skips them), or
    the one file."""
    if not path.is_dir():
        return [(path.name, path)]
    found = []
    for folder, dirnames, filenames in os.walk(path):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                file = Path(folder) / name
                found.append((file.relative_to(path).as_posix(), file))
    return found


@lru_cache(maxsize=1)
def _staging() -> Path:
    # Spark reads an added folder when an executor first fetches it, so the copies stay
    # until this process ends.
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}-spark-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
