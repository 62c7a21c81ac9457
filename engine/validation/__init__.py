"""Validation: definitions in, issues out.

- :mod:`engine.validation.report`: :class:`Issue` and :class:`Report`;
- :mod:`engine.validation.walker`: places each element occurrence of a resource in the model;
- :mod:`engine.validation.checks`: primitive formats, required codes, reference targets;
- :mod:`engine.validation.validator`: the :class:`Validator` that runs them with the invariants.
"""
