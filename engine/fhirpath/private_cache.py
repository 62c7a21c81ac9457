"""The engine's cache folder: private to the user, or not used at all.

Two caches only save start-up time: lark's parser tables (a pickle: loading one runs
whatever code it names) and fhirpathpy's parse trees (JSON). Both live in one folder,
``$FHIR_INVARIANTS_CACHE``, else ``$XDG_CACHE_HOME/fhir-invariants``, else
``~/.cache/fhir-invariants``, which :func:`cache_dir` creates with mode 0700 and uses only
while it is a real folder (not a link) owned by the current user that no one else can
write to. Otherwise nothing is cached: never a shared temporary folder, where another
user could plant a file.

    >>> folder = cache_dir()
    >>> folder is None or folder.name != ""
    True
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["cache_dir", "cache_file", "lark_cache"]


def cache_dir() -> Path | None:
    """The private cache folder, created when missing; None when it is not safe to use."""
    path = _configured()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    return path if _private(info) else None


def cache_file(name: str) -> Path | None:
    """``name`` in the private cache folder, or None when there is none."""
    folder = cache_dir()
    return None if folder is None else folder / name


def _configured() -> Path:
    explicit = os.environ.get("FHIR_INVARIANTS_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fhir-invariants"


def _private(info: os.stat_result) -> bool:
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    # Readable by others is harmless; writable by others would let them plant entries.
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def lark_cache(grammar: str) -> str | bool:
    """lark's ``cache`` option for ``grammar``: a file in the private folder, or False
    (no cache) when there is none. lark names the file itself only in the shared
    temporary folder, so the name is given here; lark checks the grammar's hash."""
    path = cache_file(f"lark-{grammar}.pickle")
    return False if path is None else str(path)
