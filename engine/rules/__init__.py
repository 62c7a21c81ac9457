"""Compiled rules: the reviewable YAML form of the definitions, and everything that makes,
reads or overlays it.

- :mod:`engine.rules.format`: the rule-file format (model ↔ YAML);
- :mod:`engine.rules.regenerate`: definitions markdown → rule files, and the drift check;
- :mod:`engine.rules.loader`: rule files → model, lazily per type;
- :mod:`engine.rules.local`: a user's local rules (own constraints, suppressions);
- :mod:`engine.rules.sources`: which definitions a run uses (bundled or named).
"""
