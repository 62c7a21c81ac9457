"""Reading the strict parse tree (:mod:`engine.fhirpath.syntax`): names, arguments,
type specifiers and quoted text."""

from __future__ import annotations

import lark

__all__ = ["arguments", "constant_name", "dotted_name", "name", "type_specifier", "unescape"]

# -- the parse tree -------------------------------------------------------------------------


def name(node: lark.Tree) -> str:
    """The name of a ``member`` or ``function`` node (backticks removed)."""
    identifier = node.children[0]
    token = identifier.children[0] if isinstance(identifier, lark.Tree) else identifier
    text = str(token)
    if text.startswith("`"):
        return unescape(text)
    return text


def arguments(node: lark.Tree) -> list[lark.Tree]:
    params = node.children[1] if len(node.children) > 1 else None
    if not isinstance(params, lark.Tree):
        return []
    return [child for child in params.children if isinstance(child, lark.Tree)]


def type_specifier(node: lark.Tree | lark.Token) -> tuple[str | None, str] | None:
    """A type written as a specifier or as an expression (``FHIR.Quantity``,
    ``Quantity``): ``(namespace, name)``; ``None`` when it is not a type name."""
    if isinstance(node, lark.Tree):
        if node.data == "type_specifier":
            names = [_identifier(child) for child in node.children]
        elif node.data == "member":
            names = [name(node)]
        elif node.data == "invoke" and node.children[1].data == "member":
            left = type_specifier(node.children[0])
            if left is None or left[0] is not None:
                return None
            names = [left[1], name(node.children[1])]
        else:
            return None
        if len(names) == 1:
            return None, names[0]
        if len(names) == 2:
            return names[0], names[1]
    return None


def dotted_name(node: lark.Tree | lark.Token) -> str | None:
    """A type name written as an expression or a type specifier, as written:
    ``FHIR.Quantity``, ``Quantity``; ``None`` when it is not a name.

        >>> from engine.fhirpath.syntax import parse
        >>> dotted_name(parse("FHIR.Quantity"))
        'FHIR.Quantity'
    """
    if isinstance(node, lark.Tree):
        if node.data == "type_specifier":
            return ".".join(_identifier(child) for child in node.children)
        if node.data == "member":
            return name(node)
        if node.data == "invoke":
            left, right = node.children
            left_name = dotted_name(left)
            if left_name is None or right.data != "member":
                return None
            return f"{left_name}.{name(right)}"
    return None


def _identifier(node: lark.Tree | lark.Token) -> str:
    token = node.children[0] if isinstance(node, lark.Tree) else node
    text = str(token)
    return unescape(text) if text.startswith("`") else text


def constant_name(token: str) -> str:
    name = token[1:]
    if name[:1] in ("`", "'"):
        return unescape(name)
    return name


_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n"}
_ESCAPES |= {"r": "\r", "t": "\t"}


def unescape(token: str) -> str:
    """The value of a quoted string, delimited name or quoted unit: quotes removed and
    escapes (``\\'``, ``\\n``, ``\\u0065``…) read left to right; a backslash that starts
    no escape stays, as in the official grammar.

        >>> unescape(r"'it\\'s \\u0065'")
        "it's e"
    """
    body = token[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
                index += 2
                continue
            if following == "u" and _is_hex(body[index + 2 : index + 6]):
                out.append(chr(int(body[index + 2 : index + 6], 16)))
                index += 6
                continue
        out.append(char)
        index += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)
