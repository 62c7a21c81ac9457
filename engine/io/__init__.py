"""Input and output: reading resources (JSON, NDJSON, Bundles, FHIR XML), validating many
of them in order (in worker processes if asked), and writing the results.

- :mod:`engine.io.inputs`: files, folders, globs and standard input → resource texts;
- :mod:`engine.io.fhir_xml`: FHIR XML → FHIR JSON;
- :mod:`engine.io.batch`: many inputs through one validator per process;
- :mod:`engine.io.positions`: the line and column of each issue, read from the text;
- :mod:`engine.io.formats`: the ``text``, ``json`` and ``outcome`` output formats;
- :mod:`engine.io.progress`: the progress bar.
"""
