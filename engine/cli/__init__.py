"""The command line: ``fhir-invariants validate …`` and ``fhir-invariants rules …``.

The top layer: it reads arguments and prints; all the work is done by the layers below.
"""

from engine.cli.app import main

__all__ = ["main"]
