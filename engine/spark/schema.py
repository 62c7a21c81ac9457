"""The DataFrames :mod:`engine.spark` returns: one row per issue, or one per resource.

:data:`ISSUES` (one row per issue, what ``validate_ndjson`` and ``validate_column``
return by default):

============== ======= ===============================================================
column         type    meaning
============== ======= ===============================================================
source         string  the file (as Spark names it: ``file:/data/Patient.ndjson``), or
                       the ``source`` column of ``validate_column``
line           long    the file line (1 for the first); null for ``validate_column``
resourceType   string  null when the line is not a JSON object with a resourceType
id             string  the resource's ``id``, when it has one
severity       string  ``fatal``, ``error``, ``warning`` or ``information``
code           string  a FHIR IssueType code: ``invariant``, ``structure``, ``required``…
location       string  FHIRPath of the element (``Patient.contact[0]``); for malformed
                       input ``(line 7, column 12)``
column         int     the column of the element in its line (1 for the first
                       character); null when it cannot be placed
key            string  the constraint key (``dom-6``), null for other issues
message        string  what is wrong, for people
============== ======= ===============================================================

:data:`RESOURCES` (``per="resource"``): one row per resource, with or without issues:
``source``, ``line``, ``resourceType``, ``id``, ``valid`` (boolean: no ``fatal`` or
``error`` issue), the counts ``fatal``, ``error``, ``warning``, ``information``,
``issues`` (an array of structs with the issue columns ``severity`` … ``message``, and
the issue's own ``line``, which for validate_column counts in the column's text) and
``suppressed`` (an array of ``key``, ``reason``: constraints switched off by local rules).
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

__all__ = ["ISSUE", "ISSUES", "RESOURCES", "SEVERITIES"]

#: The severities, most severe first; each has a count column in :data:`RESOURCES`.
SEVERITIES = ("fatal", "error", "warning", "information")

#: One issue: the struct in :data:`RESOURCES`'s ``issues`` array.
ISSUE = StructType(
    [
        StructField("severity", StringType()),
        StructField("code", StringType()),
        StructField("location", StringType()),
        StructField("line", IntegerType()),
        StructField("column", IntegerType()),
        StructField("key", StringType()),
        StructField("message", StringType()),
    ]
)

_WHERE = [
    StructField("source", StringType()),
    StructField("line", LongType()),
    StructField("resourceType", StringType()),
    StructField("id", StringType()),
]

#: One row per resource.
RESOURCES = StructType(
    [
        *_WHERE,
        StructField("valid", BooleanType()),
        *(StructField(severity, IntegerType()) for severity in SEVERITIES),
        StructField("issues", ArrayType(ISSUE)),
        StructField(
            "suppressed",
            ArrayType(
                StructType([StructField("key", StringType()), StructField("reason", StringType())])
            ),
        ),
    ]
)

#: One row per issue.
ISSUES = StructType([*_WHERE, *(field for field in ISSUE.fields if field.name != "line")])
