"""Base64 content as FHIR checks it, behind the FHIRPath functions ``base64Size()`` and
``base64Sha1()``: pure functions of the ``base64Binary`` text, for every evaluator.

The HL7 validator checks that an ``Attachment``'s ``size`` is the number of bytes its
``data`` decodes to, and its ``hash`` the SHA-1 of those bytes (base64-encoded), with the
data decoded as its ``Base64Util`` does: line breaks and other whitespace between the
characters are skipped (the base64Binary format check reports them on its own).

    >>> base64_size("SGVsbG8=")
    5
    >>> base64_sha1("SGVsbG8=")
    '9/+ei3uy4Jtwk1pdeF4MxdnQq/A='
    >>> base64_size("not base64!") is None
    True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

__all__ = ["base64_sha1", "base64_size"]

_WHITESPACE = re.compile(r"\s+")


def base64_size(text: str) -> int | None:
    """The number of bytes ``text`` decodes to; ``None`` when it is not base64."""
    data = _decode(text)
    return None if data is None else len(data)


def base64_sha1(text: str) -> str | None:
    """The SHA-1 of the bytes ``text`` decodes to, base64-encoded (the form of
    ``Attachment.hash``); ``None`` when ``text`` is not base64."""
    data = _decode(text)
    if data is None:
        return None
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(_WHITESPACE.sub("", text), validate=True)
    except (binascii.Error, ValueError):
        return None
