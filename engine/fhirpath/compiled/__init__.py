"""The compiled FHIRPath evaluator: expressions compiled once into Python closures that
run on plain JSON values, typed at compile time from the focus type.

- :mod:`~engine.fhirpath.compiled.values`: the items of collections;
- :mod:`~engine.fhirpath.compiled.temporal`: dates and times of partial precision;
- :mod:`~engine.fhirpath.compiled.types`: the static types (members, choices, hierarchy);
- :mod:`~engine.fhirpath.compiled.navigation`: reading members from JSON;
- :mod:`~engine.fhirpath.compiled.operators`: equality, ordering, arithmetic on values;
- :mod:`~engine.fhirpath.compiled.collections`: duplicates and membership;
- :mod:`~engine.fhirpath.compiled.core`: the compiled forms (closures and their flags,
  the evaluation's environment); :mod:`~engine.fhirpath.tree`: reading the
  parse tree;
- :mod:`~engine.fhirpath.compiled.compiler`: the compiler; its operators in
  :mod:`~engine.fhirpath.compiled.binary`, its function table in the package
  :mod:`~engine.fhirpath.compiled.functions` (one module per family of functions);
- :mod:`~engine.fhirpath.compiled.evaluator`: :class:`CompiledEvaluator`.
"""

from engine.fhirpath.compiled.evaluator import CompiledEvaluator, Fallback

__all__ = ["CompiledEvaluator", "Fallback"]
