"""Static analysis of a FHIRPath expression against the loaded definitions.

:func:`unknown_elements` follows the type of the focus through the parse tree, from the
element a constraint sits on, and reports member names that no element of that type
has (``seriesUID`` for ``seriesUid``). A false report would reject a correct definition,
so whenever the type becomes uncertain (a type that is not loaded, an abstract resource
such as ``contained``, a choice element read without its type, ``resolve()``,
``children()``…) checking stops on that branch.

Types whose base types are not loaded still get checked when the missing bases are FHIR's
fixed foundation (``Resource``, ``DomainResource``, ``Element``, ``BackboneElement``…),
whose element names are known here; primitive types always have exactly ``id``,
``extension`` and ``value``.

    >>> unknown_elements("seriesUID.exists()", "ImagingSelection", defs)
    ["'seriesUID' is not an element of ImagingSelection"]
    >>> sorted(functions_used("name.where(given.exists()).resolve()"))
    ['exists', 'resolve', 'where']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Union

import lark

from engine.fhirpath.syntax import parse
from engine.fhirpath.tree import arguments as _arguments
from engine.fhirpath.tree import dotted_name as _dotted
from engine.fhirpath.tree import name as _name
from engine.model import Definitions, ElementDefinition, StructureDefinition

__all__ = ["focus_members", "functions_used", "unknown_elements"]

#: Element names of the abstract foundation types, for when they are not loaded.
_FOUNDATION: Mapping[str, tuple[frozenset[str], str | None]] = {
    "Base": (frozenset(), None),
    "Resource": (frozenset({"id", "meta", "implicitRules", "language"}), "Base"),
    "DomainResource": (
        frozenset({"text", "contained", "extension", "modifierExtension"}),
        "Resource",
    ),
    "Element": (frozenset({"id", "extension"}), "Base"),
    "BackboneElement": (frozenset({"modifierExtension"}), "Element"),
    "DataType": (frozenset(), "Element"),
    "BackboneType": (frozenset({"modifierExtension"}), "DataType"),
    "PrimitiveType": (frozenset(), "DataType"),
}
_PRIMITIVE_NAMES = frozenset({"id", "extension", "value"})

#: Functions whose arguments are evaluated on each item of the function's input.
_ITEM_FUNCTIONS = frozenset(
    {"where", "select", "all", "exists", "any", "repeat", "repeatAll", "aggregate", "iif"}
    | {"sort", "coalesce"}
)
#: Functions whose result has the type of their input.
_SAME_TYPE = frozenset(
    {"where", "first", "last", "tail", "skip", "take", "single", "distinct", "trace"}
    | {"intersect", "exclude", "sort", "defineVariable"}
)
#: Functions taking a type name, not an expression.
_TYPE_ARGUMENT = frozenset({"ofType", "as", "is"})


@dataclass(frozen=True)
class _TypeSlot:
    """Items of a named type (``Identifier``, ``code``, ``ImagingSelection``)."""

    code: str
    #: The context a constraint sits on may be abstract; a type reached otherwise may not.
    declared: bool = False


@dataclass(frozen=True)
class _ElementSlot:
    """Occurrences of an element whose children are defined inline (a backbone element)."""

    path: str
    owner: StructureDefinition = field(compare=False)
    element: ElementDefinition = field(compare=False)


_Slot = Union[_TypeSlot, _ElementSlot]  # noqa: UP007 (a runtime alias, used in tuples)
#: The possible types of a collection's items; ``None`` when they are not known.
_Focus = tuple[_Slot, ...] | None


def unknown_elements(expression: str, context_path: str, definitions: Definitions) -> list[str]:
    """Messages for the member names in ``expression`` that are not elements of the
    focus type, starting from the element at ``context_path``.

    Raises :class:`engine.fhirpath.syntax.FhirPathSyntaxError` when the expression is
    malformed; an unknown ``context_path`` gives no messages (nothing can be checked).
    """
    analyzer = _Analyzer(definitions)
    start = analyzer.start(context_path)
    analyzer.expression(parse(expression), start)
    return list(dict.fromkeys(analyzer.messages))


def functions_used(expression: str) -> frozenset[str]:
    """The names of the functions ``expression`` invokes (``exists``, ``resolve``…).

    Raises :class:`engine.fhirpath.syntax.FhirPathSyntaxError` when it is malformed.
    """
    return frozenset(_name(node) for node in parse(expression).find_data("function"))


def focus_members(expression: str) -> frozenset[str] | None:
    """The names of the focus's elements that ``expression`` reads, when it reads the
    focus only through them; ``None`` when it reads the focus otherwise (``$this``,
    ``children()``, ``hasValue()``, a function or type name applied to the focus, an
    environment variable…).

    When none of those elements is present in an occurrence, the expression gives what it
    gives on an empty focus: the validator uses this to skip evaluations whose outcome it
    already knows.

        >>> sorted(focus_members("reference.exists() implies type.empty()"))
        ['reference', 'type']
        >>> sorted(focus_members("coding.where(system = 'x').exists() or text.exists()"))
        ['coding', 'text']
        >>> sorted(focus_members("component.all(code.exists()) and value.exists()"))
        ['component', 'value']
        >>> focus_members("hasValue() or (children().count() > id.count())") is None
        True
    """
    names: set[str] = set()
    return frozenset(names) if _reads_focus_by_members(parse(expression), True, names) else None


def _reads_focus_by_members(node: lark.Tree | lark.Token, at_focus: bool, names: set[str]) -> bool:
    """Walk ``node`` (evaluated on the focus when ``at_focus``), adding the focus members it
    reads to ``names``; False when it reads the focus some other way."""
    if not isinstance(node, lark.Tree):
        return True
    kind = node.data
    if kind == "member":
        if at_focus:
            name = _name(node)
            if name[:1].isupper():
                return False  # a type name: filters the focus itself
            names.add(name)
        return True
    if kind == "function":
        # A function applied to the focus itself (``exists()``, ``hasValue()``…); on an
        # item, its arguments are evaluated per item.
        return not at_focus and all(
            _reads_focus_by_members(argument, False, names) for argument in _arguments(node)
        )
    if kind in ("this", "index", "total", "external_constant"):
        return not at_focus and kind != "external_constant"
    if kind == "invoke":
        target, invocation = node.children
        if not _reads_focus_by_members(target, at_focus, names):
            return False
        if isinstance(invocation, lark.Tree) and invocation.data == "function":
            # Arguments of functions that iterate see each item; the others are read where
            # the call stands, so their terms may be the focus's members.
            per_item = _name(invocation) in _ITEM_FUNCTIONS
            return all(
                _reads_focus_by_members(argument, at_focus and not per_item, names)
                for argument in _arguments(invocation)
            )
        return True
    return all(_reads_focus_by_members(child, at_focus, names) for child in node.children)


class _Analyzer:
    def __init__(self, definitions: Definitions) -> None:
        self.definitions = definitions
        self.messages: list[str] = []
        self.context: _Focus = None
        self.resource: _Focus = None
        self._dispatch: dict[str, Callable[[lark.Tree, _Focus], _Focus]] = {
            "binary": self._binary,
            "type_expression": self._type_expression,
            "polarity": self._polarity,
            "indexer": self._indexer,
            "invoke": self._invoke_expression,
            "member": lambda node, this: self._member(node, this, this, term=True),
            "function": lambda node, this: self._function(node, this, this),
            "this": lambda node, this: this,
            "external_constant": self._constant,
        }

    # -- where analysis starts

    def start(self, context_path: str) -> _Focus:
        sd = self.definitions.get(context_path.split(".", 1)[0])
        element = sd.get(context_path) if sd is not None else None
        if sd is None or element is None:
            return None
        if element.parent_path is None:
            self.context = (_TypeSlot(sd.name, declared=True),)
        else:
            self.context = self._element_type(sd, element)
        if sd.kind == "resource" and not sd.abstract:
            self.resource = (_TypeSlot(sd.name),)
        return self.context

    # -- expressions: evaluated with ``this`` as the focus of their terms

    def expression(self, node: lark.Tree | lark.Token | None, this: _Focus) -> _Focus:
        if not isinstance(node, lark.Tree):
            return None
        handler = self._dispatch.get(str(node.data))
        if handler is None:
            # Literals and null: system values, nothing to check below them.
            for child in node.children:
                if isinstance(child, lark.Tree):
                    self.expression(child, this)
            return None
        return handler(node, this)

    def _binary(self, node: lark.Tree, this: _Focus) -> _Focus:
        left, operator, right = node.children
        left_type = self.expression(left, this)
        right_type = self.expression(right, this)
        return _union(left_type, right_type) if operator == "|" else None

    def _type_expression(self, node: lark.Tree, this: _Focus) -> _Focus:
        operand, operator, specifier = node.children
        self.expression(operand, this)
        return self._named_type(_dotted(specifier)) if operator == "as" else None

    def _polarity(self, node: lark.Tree, this: _Focus) -> _Focus:
        self.expression(node.children[1], this)
        return None

    def _indexer(self, node: lark.Tree, this: _Focus) -> _Focus:
        collection, index = node.children
        self.expression(index, this)
        return self.expression(collection, this)

    def _invoke_expression(self, node: lark.Tree, this: _Focus) -> _Focus:
        target, invocation = node.children
        focus = self.expression(target, this)
        if invocation.data == "member":
            return self._member(invocation, focus, this, term=False)
        if invocation.data == "function":
            return self._function(invocation, focus, this)
        return None

    def _constant(self, node: lark.Tree, this: _Focus) -> _Focus:
        name = str(node.children[0])[1:].strip("`")
        if name == "context":
            return self.context
        if name == "resource":
            return self.resource
        return None

    # -- invocations: applied to ``focus`` (their input), arguments see ``this``

    def _member(self, node: lark.Tree, focus: _Focus, this: _Focus, *, term: bool) -> _Focus:
        name = _name(node)
        if focus is None:
            return None
        if term and name[:1].isupper() and not self._is_child_anywhere(focus, name):
            # A leading type name (``ImagingSelection.instance``) filters the focus by type.
            return focus if all(_label(slot) == name for slot in focus) else None
        result: list[_Slot] = []
        unknown_in: list[_Slot] = []
        for slot in focus:
            children = self._children(slot)
            if children is None:
                return None
            match = _match(children, name)
            if match is None:
                unknown_in.append(slot)
                continue
            child_type = self._member_type(match, name)
            if child_type is None:
                return None
            result.extend(child_type)
        if len(unknown_in) == len(focus):
            labels = " or ".join(dict.fromkeys(_label(slot) for slot in unknown_in))
            self.messages.append(f"'{name}' is not an element of {labels}")
            return None
        return tuple(result)

    def _function(self, node: lark.Tree, focus: _Focus, this: _Focus) -> _Focus:
        name = _name(node)
        arguments = _arguments(node)
        if name in _TYPE_ARGUMENT:
            type_name = _dotted(arguments[0]) if len(arguments) == 1 else None
            if name == "is" or type_name is None:
                return None
            return self._named_type(type_name)
        argument_focus = focus if name in _ITEM_FUNCTIONS else this
        argument_types = [self.expression(argument, argument_focus) for argument in arguments]
        if name in _SAME_TYPE:
            return focus
        if name == "select" and argument_types:
            return argument_types[0]
        if name == "repeat" and argument_types:
            return _union(focus, argument_types[0])
        if name in ("union", "combine") and argument_types:
            return _union(focus, argument_types[0])
        if name == "iif" and len(argument_types) >= 2:
            return _union(argument_types[1], argument_types[2] if len(argument_types) > 2 else ())
        if name == "extension":
            return self._named_type("Extension")
        return None

    # -- the element model

    def _children(
        self, slot: _Slot
    ) -> dict[str, tuple[StructureDefinition, ElementDefinition] | None] | None:
        """The child elements of a slot's items by name (``None`` values: names known but
        not their types); ``None`` when the type is not known well enough to say."""
        children: dict[str, tuple[StructureDefinition, ElementDefinition] | None] = {}
        if isinstance(slot, _ElementSlot):
            for child in slot.owner.children(slot.element):
                children[child.name] = (slot.owner, child)
            base: str | None = (slot.element.type_codes or ("BackboneElement",))[0]
        else:
            sd = self.definitions.get(slot.code)
            if sd is not None and sd.abstract and not slot.declared:
                return None
            base = slot.code
        return children if self._inherit(children, base) else None

    def _inherit(
        self,
        children: dict[str, tuple[StructureDefinition, ElementDefinition] | None],
        base: str | None,
    ) -> bool:
        """Add the elements of ``base`` and its ancestors; False when one is unknown."""
        seen = 0
        while base is not None and seen < 32:
            seen += 1
            sd = self.definitions.get(base)
            if sd is not None:
                for child in sd.children(sd.root):
                    children.setdefault(child.name, (sd, child))
                base = sd.base
            elif base in _FOUNDATION:
                names, base = _FOUNDATION[base]
                for name in names:
                    children.setdefault(name, None)
            elif base[:1].islower():
                for name in _PRIMITIVE_NAMES:
                    children.setdefault(name, None)
                base = "PrimitiveType"
            else:
                return False
        return True

    def _member_type(
        self, match: tuple[str, tuple[StructureDefinition, ElementDefinition] | None], name: str
    ) -> _Focus:
        key, found = match
        if found is None:
            return None
        owner, element = found
        if key.endswith("[x]"):
            if name == key[:-3]:
                return None  # the choice read without its type: any of them
            return self._named_type(_type_for_suffix(element, name[len(key) - 3 :]))
        return self._element_type(owner, element)

    def _element_type(self, owner: StructureDefinition, element: ElementDefinition) -> _Focus:
        if element.content_reference is not None:
            target = self.definitions.content_target(owner, element.content_reference)
            return None if target is None else self._element_type(*target)
        if owner.children(element):
            return (_ElementSlot(f"{owner.name}:{element.path}", owner, element),)
        if element.is_choice or len(element.types) != 1:
            return None
        return self._named_type(element.types[0].code)

    def _named_type(self, name: str | None) -> _Focus:
        if name is None:
            return None
        name = name.removeprefix("FHIR.")
        if "." in name:
            return None  # System types and unknown namespaces
        return (_TypeSlot(name),)

    def _is_child_anywhere(self, focus: tuple[_Slot, ...], name: str) -> bool:
        return any(
            (children := self._children(slot)) is not None and _match(children, name) is not None
            for slot in focus
        )


def _match(
    children: dict[str, tuple[StructureDefinition, ElementDefinition] | None], name: str
) -> tuple[str, tuple[StructureDefinition, ElementDefinition] | None] | None:
    """The child a member name refers to: by name, or a choice by its name with or
    without a type suffix (``value``, ``valueQuantity``)."""
    if name in children:
        return name, children[name]
    for key, found in children.items():
        if not key.endswith("[x]") or not name.startswith(key[:-3]):
            continue
        suffix = name[len(key) - 3 :]
        if suffix == "" or (found is not None and _type_for_suffix(found[1], suffix)):
            return key, found
    return None


def _type_for_suffix(element: ElementDefinition, suffix: str) -> str | None:
    for code in element.type_codes:
        if code[:1].upper() + code[1:] == suffix:
            return code
    return None


def _union(left: _Focus, right: _Focus) -> _Focus:
    if left is None or right is None:
        return None
    return tuple(dict.fromkeys(left + right))


def _label(slot: _Slot) -> str:
    return slot.code if isinstance(slot, _TypeSlot) else slot.element.path
