"""What the docstring examples in ``engine/`` may take as given when run as doctests.

``make test`` runs every ``>>>`` example in the package (``--doctest-modules``, see
``pyproject.toml``). An example may use, without importing them:

- ``engine``: the package;
- ``defs``: the bundled definitions (``engine.bundled_definitions()``, loaded lazily);

and relative paths such as ``"definitions"`` or ``"examples/imagingselection"``: examples
run from the project's root. Anything else an example needs, it imports or builds itself,
so that a reader can run it as written. Outside pytest, ``python -m doctest`` needs the
same two names; this file is not part of the installed package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _doctest_setup(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> Any:
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    import engine

    doctest_namespace["engine"] = engine
    doctest_namespace["defs"] = engine.bundled_definitions()
    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(previous)
