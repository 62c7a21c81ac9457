"""``python -m engine``: the ``fhir-invariants`` command line."""

import sys

from engine.cli import main

sys.exit(main())
