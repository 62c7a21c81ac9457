"""Definitions in: resource-definition markdown (and FHIR StructureDefinitions) read into
the model, and the model written back as markdown.

- :mod:`engine.definitions.markdown`: the loader, ``definitions/*.md`` → model;
- :mod:`engine.definitions.fields` and ``fields.lark``: the grammar of the field values;
- :mod:`engine.definitions.writer`: model → markdown;
- :mod:`engine.definitions.fhir_import`: FHIR StructureDefinition JSON → model;
- :mod:`engine.definitions.terminology`: value-set data (``*.valuesets.yaml``);
- :mod:`engine.definitions.yaml_io`: YAML with line numbers for error messages.
"""
