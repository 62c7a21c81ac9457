"""Bulk validation on Apache Spark: FHIR NDJSON (a Bulk Data export) or a column of FHIR
JSON validated across a cluster, the issues as a DataFrame.

    from engine.spark import validate_ndjson, validate_column

    issues = validate_ndjson(spark, "s3a://lake/export/*.ndjson.gz")   # any path Spark reads
    issues = validate_column(df, "resource")                             # FHIR JSON strings
    issues.groupBy("key").count().show()

    resources = validate_ndjson(spark, "export/", per="resource")       # one row per resource
    resources.where(~resources.valid).select("source", "line", "error").show()

Every executor validates exactly as a local run does (:class:`engine.io.batch.Checker`),
with one validator per Python worker process, built from the bundled compiled rules or
from the definitions and local rules the caller names, shipped once per application
(:mod:`engine.spark.shipping`). The output columns are described in
:mod:`engine.spark.schema`.

Needs the ``spark`` extra (``pip install 'fhir-invariants[spark]'``: pyspark and
pyarrow); ``import engine`` never imports this package or pyspark.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.spark.schema import ISSUES, RESOURCES
    from engine.spark.validate import issues_of, validate_column, validate_ndjson

__all__ = ["ISSUES", "RESOURCES", "issues_of", "validate_column", "validate_ndjson"]

#: Where each public name lives. Loaded on first use, so that ``engine.spark.cli`` can
#: say that pyspark is missing instead of failing on import.
_HOME = {
    "ISSUES": "engine.spark.schema",
    "RESOURCES": "engine.spark.schema",
    "issues_of": "engine.spark.validate",
    "validate_column": "engine.spark.validate",
    "validate_ndjson": "engine.spark.validate",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.spark' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
