"""The validation plan: what to check on each kind of occurrence, decided once per type.

Like Firely's validator, the definitions are turned ahead of time into small checks:
for each element with a given concrete type, a :class:`NodePlan` holds everything fixed
for its occurrences — its JSON children by property name (choice names such as
``valueQuantity`` expanded, ``_name`` companions included), their cardinalities, the
primitive rule, the codes of a required binding, the allowed reference targets and the
compiled constraints. The walker (:mod:`engine.validation.walker`) only executes it: it
never consults the model or a cache per occurrence.

Plans are built on first use of a type and then kept, by (type, element, concrete type):
types refer to themselves (``Extension.extension``, ``Identifier.assigner``), so a plan's
children are filled in when the walker first enters one of its occurrences.

    >>> import engine
    >>> from engine.fhirpath.evaluators import make_evaluator
    >>> defs = engine.bundled_definitions()
    >>> plan = ValidationPlan(defs, make_evaluator("fhirpathpy", defs))
    >>> selection = plan.resource("ImagingSelection")
    >>> selection.build_children()["instance"].repeats
    True
    >>> [rule.constraint.key for rule in selection.rules][:3]
    ['isl-1', 'isl-2', 'isl-3']
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from engine.fhirpath.analysis import focus_members, functions_used
from engine.fhirpath.evaluation import CompiledExpression, Evaluator, Verdict, verdict_function
from engine.model import (
    Constraint,
    Definitions,
    ElementDefinition,
    StructureDefinition,
)
from engine.validation.checks import (
    SYSTEM_TYPE_PREFIX,
    BindingCodes,
    PrimitiveRule,
    ReferenceTargets,
    binding_codes,
    primitive_rule,
    reference_targets,
)

__all__ = ["ChildPlan", "NodePlan", "Rule", "ValidationPlan"]

#: Functions whose result depends on more than their input collection.
_LOOKS_ELSEWHERE = frozenset(
    {"now", "today", "timeOfDay", "resolve", "memberOf", "conformsTo", "defineVariable"}
)
_RESOURCE_TYPE_CODES = frozenset({"Resource", "DomainResource"})

#: What an occurrence holds: a primitive value, an object of a complex type or backbone
#: element, or a nested resource (``contained``, ``Bundle.entry.resource``).
PRIMITIVE, COMPLEX, RESOURCE = "primitive", "complex", "resource"


@dataclass(frozen=True, slots=True)
class Rule:
    """A constraint ready to run on the occurrences of one node: compiled, or the reason
    it cannot be evaluated here."""

    constraint: Constraint
    compiled: CompiledExpression | None
    not_evaluated: str | None = None
    #: Whether the compiled expression passes on an occurrence (``None`` when it is not
    #: compiled): what the walker asks, for each occurrence.
    verdict: Verdict | None = None
    #: The result depends on the focus alone: no environment variable (``%resource``…)
    #: and no function that looks elsewhere (``now()``, ``resolve()``…).
    focus_only: bool = False
    #: The focus's elements the expression reads, when it reads the focus only through
    #: them (:func:`engine.fhirpath.analysis.focus_members`); ``None`` otherwise.
    members: frozenset[str] | None = None


@dataclass(eq=False, slots=True)
class ChildPlan:
    """One JSON property of an object: which element it is, and how it may occur."""

    json_name: str
    #: The element's name as locations write it: ``value`` for ``value[x]``.
    name: str
    #: Location text added for this property: ``.instance``, ``.value.ofType(Quantity)``.
    segment: str
    repeats: bool
    maximum: int | None
    max_text: str
    #: The element's name in the definitions (``value[x]``): the properties of one element
    #: (a choice element's types) share it, and at most one of them may be present.
    element_name: str
    is_choice: bool
    #: For a primitive, the name of its ``_`` companion (id, extensions); else ``None``.
    companion: str | None
    #: True for the ``_`` companion's own entry.
    is_companion: bool
    #: The node plan of the property's occurrences, once built (see :meth:`resolve`).
    node: NodePlan | None
    _key: tuple[ValidationPlan, StructureDefinition, ElementDefinition, str | None] = field(
        repr=False
    )

    def resolve(self) -> NodePlan:
        """The node plan of this property's occurrences, built on first use: types refer to
        themselves, so building a plan never recurses through the whole type graph."""
        if self.node is None:
            plan, sd, element, type_code = self._key
            self.node = plan.node(sd, element, type_code)
        return self.node


#: :attr:`NodePlan.children` before it is built.
UNBUILT: Any = object()


@dataclass(eq=False, slots=True)
class NodePlan:
    """Everything fixed for the occurrences of one element with one concrete type."""

    sd: StructureDefinition
    element: ElementDefinition
    #: The concrete type of the occurrences; ``None`` for backbone elements and resource roots.
    type_code: str | None
    kind: str
    #: The type path FHIRPath navigates from (a type name, or a backbone element's path).
    focus_type: str
    primitive: PrimitiveRule | None
    #: The codes of a required binding.
    binding: BindingCodes | None
    #: What a Reference or CodeableReference whose targets are restricted may point to.
    references: tuple[ReferenceTargets, ...]
    #: Compiled constraints whose verdict depends on the focus alone, and the others.
    focus_rules: tuple[Rule, ...]
    context_rules: tuple[Rule, ...]
    #: Constraints that cannot be evaluated here (they need ``resolve()``…).
    not_evaluated: tuple[Rule, ...]
    #: A resource's root: its ``resourceType`` property is not an element.
    is_resource_root: bool
    #: True when an occurrence has anything to check besides its content.
    has_checks: bool
    _plan: ValidationPlan = field(repr=False)
    #: JSON property name → :class:`ChildPlan` (``None``: the content is unknown, as the
    #: type or one of its bases is not loaded); :data:`UNBUILT` until first needed.
    children: Any = field(default=UNBUILT, repr=False)
    #: The child elements that must occur: (element name, minimum, their JSON names).
    required: tuple[tuple[str, int, tuple[str, ...]], ...] = field(default=(), repr=False)
    #: Per focus rule of an object: the JSON properties it reads, when it reads the object
    #: only through them; :data:`UNBUILT` until first needed.
    reads: Any = field(default=UNBUILT, repr=False)
    #: Focus rule index → its verdict on an object holding none of the properties it
    #: reads: its verdict on an empty object, as the expression reads nothing else.
    absent_verdicts: dict[int, Any] = field(default_factory=dict, repr=False)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every constraint of the node, in definition order within each group."""
        return self.focus_rules + self.context_rules + self.not_evaluated

    def build_reads(self) -> tuple[frozenset[str] | None, ...]:
        """Fill in :attr:`reads` (once) and return it."""
        if self.reads is UNBUILT:
            children = self.build_children() or {}
            reads: list[frozenset[str] | None] = []
            for rule in self.focus_rules:
                if rule.members is None or self.kind != COMPLEX:
                    reads.append(None)
                    continue
                reads.append(
                    frozenset(
                        key
                        for key, child in children.items()
                        if child.name in rule.members or child.json_name in rule.members
                    )
                )
            self.reads = tuple(reads)
        return self.reads  # type: ignore[no-any-return]

    def build_children(self) -> dict[str, ChildPlan] | None:
        """Fill in :attr:`children` and :attr:`required` (once) and return the children."""
        if self.children is UNBUILT:
            self.children, self.required = self._plan._children_of(self)
        return self.children  # type: ignore[no-any-return]


class ValidationPlan:
    """The plans of every type the resources use, built on first use from ``definitions``
    with expressions compiled by ``evaluator``. One per validator; safe to share."""

    def __init__(
        self,
        definitions: Definitions,
        evaluator: Evaluator,
        suppressed: Collection[str] = (),
    ) -> None:
        self.definitions = definitions
        self.evaluator = evaluator
        #: Constraint keys switched off: they are left out of every plan.
        self.suppressed = frozenset(suppressed)
        self._supported = evaluator.supported_functions()
        self._nodes: dict[tuple[str, str, str | None], NodePlan] = {}
        self._primitive_rules: dict[str, PrimitiveRule | None] = {}
        self._compiled: dict[tuple[str, str], CompiledExpression] = {}

    def resource(self, type_name: str) -> NodePlan | None:
        """The plan of a resource's root, or ``None`` when ``type_name`` is not a loaded,
        concrete resource type."""
        sd = self.definitions.get(type_name)
        if sd is None or sd.kind != "resource" or sd.abstract:
            return None
        return self.node(sd, sd.root, None)

    def node(
        self, sd: StructureDefinition, element: ElementDefinition, type_code: str | None
    ) -> NodePlan:
        key = (sd.name, element.path, type_code)
        plan = self._nodes.get(key)
        if plan is None:
            plan = self._nodes[key] = self._build(sd, element, type_code)
        return plan

    def is_primitive(self, type_code: str | None) -> bool:
        """FHIR primitive types are defined with kind primitive-type; when the type is not
        loaded, FHIR's naming rule (primitive type names start lower case) decides."""
        if type_code is None:
            return False
        if type_code.startswith(SYSTEM_TYPE_PREFIX):
            return True
        sd = self.definitions.get(type_code)
        if sd is not None:
            return sd.kind == "primitive-type"
        return type_code[:1].islower() and "/" not in type_code

    # -- building one node ---------------------------------------------------------------

    def _build(
        self, sd: StructureDefinition, element: ElementDefinition, type_code: str | None
    ) -> NodePlan:
        if self._is_resource_type(type_code) and not _has_inline_children(sd, element):
            kind = RESOURCE
        elif self.is_primitive(type_code):
            kind = PRIMITIVE
        else:
            kind = COMPLEX
        focus_type = _focus_type(element, type_code)
        primitive = self._primitive_rule(type_code) if kind == PRIMITIVE else None
        references = tuple(
            targets
            for type_ref in element.types
            if type_ref.code == type_code and (targets := reference_targets(type_ref)) is not None
        )
        rules = () if kind == RESOURCE else self._rules(sd, element, type_code, focus_type)
        binding = binding_codes(self.definitions, element, type_code)
        focus_rules = tuple(r for r in rules if r.compiled is not None and r.focus_only)
        context_rules = tuple(r for r in rules if r.compiled is not None and not r.focus_only)
        not_evaluated = tuple(r for r in rules if r.compiled is None)
        return NodePlan(
            sd=sd,
            element=element,
            type_code=type_code,
            kind=kind,
            focus_type=focus_type,
            primitive=primitive,
            binding=binding,
            references=references,
            focus_rules=focus_rules,
            context_rules=context_rules,
            not_evaluated=not_evaluated,
            is_resource_root=element.parent_path is None
            and sd.kind == "resource"
            and type_code is None,
            has_checks=bool(primitive or binding or references or rules),
            _plan=self,
        )

    def _primitive_rule(self, code: str | None) -> PrimitiveRule | None:
        if code is None:
            return None
        if code not in self._primitive_rules:
            self._primitive_rules[code] = primitive_rule(self.definitions, code)
        return self._primitive_rules[code]

    def _is_resource_type(self, code: str | None) -> bool:
        if code is None:
            return False
        if code in _RESOURCE_TYPE_CODES:
            return True
        sd = self.definitions.get(code)
        return sd is not None and sd.kind == "resource"

    # -- constraints ---------------------------------------------------------------------

    def _rules(
        self,
        sd: StructureDefinition,
        element: ElementDefinition,
        type_code: str | None,
        focus_type: str,
    ) -> tuple[Rule, ...]:
        return tuple(
            self._rule(c, focus_type)
            for c in self._constraints(sd, element, type_code)
            if c.key not in self.suppressed
        )

    def _constraints(
        self, sd: StructureDefinition, element: ElementDefinition, type_code: str | None
    ) -> list[Constraint]:
        """The element's own constraints (those of the element a content reference names:
        it "brings across all the rules", invariants included), then those of its type and
        the type's bases."""
        found: list[Constraint] = list(element.constraints)
        if element.content_reference is not None:
            target = self.definitions.content_target(sd, element.content_reference)
            if target is not None:
                found.extend(target[1].constraints)
        type_name = type_code or _type_of_inline(sd, element)
        if type_name is not None:
            for base in self.definitions.lineage(type_name):
                if base is sd and element is sd.root:
                    continue
                found.extend(base.root.constraints)
        unique: dict[str, Constraint] = {}
        for c in found:
            unique.setdefault(c.key, c)
        return list(unique.values())

    def _rule(self, constraint: Constraint, focus_type: str) -> Rule:
        try:
            return self._compiled_rule(constraint, focus_type)
        except (ValueError, RecursionError) as error:
            # Loaded definitions were checked when they loaded; these come from elsewhere
            # (a model built in code): the constraint is reported, validation goes on.
            reason = (
                "expression too deeply nested"
                if isinstance(error, RecursionError)
                else str(error).splitlines()[0]
            )
            return Rule(
                constraint,
                None,
                f"Constraint {constraint.key} not evaluated: its expression cannot be "
                f"compiled: {reason}",
            )

    def _compiled_rule(self, constraint: Constraint, focus_type: str) -> Rule:
        functions = functions_used(constraint.expression)
        missing = sorted(functions - self._supported)
        if missing:
            names = ", ".join(f"{m}()" for m in missing)
            return Rule(
                constraint,
                None,
                f"Constraint {constraint.key} not evaluated: it uses {names}, which this "
                f"engine does not support ('{constraint.human}')",
            )
        key = (constraint.expression, focus_type)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self.evaluator.compile(
                constraint.expression, focus_type
            )
        focus_only = "%" not in constraint.expression and not functions & _LOOKS_ELSEWHERE
        members = focus_members(constraint.expression) if focus_only else None
        return Rule(
            constraint,
            compiled,
            verdict=verdict_function(compiled),
            focus_only=focus_only,
            members=members,
        )

    # -- children ------------------------------------------------------------------------

    def _children_of(
        self, node: NodePlan
    ) -> tuple[dict[str, ChildPlan] | None, tuple[tuple[str, int, tuple[str, ...]], ...]]:
        sd, element, type_code = node.sd, node.element, node.type_code
        if node.kind == PRIMITIVE:
            # A primitive's content is its ``_name`` object: the type's id and extensions.
            type_sd = self.definitions.get(type_code or "")
            if type_sd is None:
                return None, ()
            if not self.definitions.is_complete_lineage(type_sd.name):
                return None, ()
            children = self.definitions.children_of(type_sd, type_sd.root)
        elif type_code is not None and not _has_inline_children(sd, element):
            # The content is the type's: unknown (nothing to say) when it is not loaded.
            type_sd = self.definitions.get(type_code)
            if type_sd is None or not self.definitions.is_complete_lineage(type_code):
                return None, ()
            children = self.definitions.children_of(type_sd, type_sd.root)
        else:
            if not self.definitions.is_complete_lineage(sd.name):
                return None, ()
            children = self.definitions.children_of(sd, element)
        props: dict[str, ChildPlan] = {}
        required: dict[str, int] = {}
        for name, (child_sd, child_el) in children.items():
            if node.kind == PRIMITIVE and name == "value":
                continue  # a primitive's value is the JSON value itself
            if child_el.cardinality.min > 0:
                required.setdefault(child_el.name, child_el.cardinality.min)
            if child_el.is_choice:
                stem = name.removesuffix("[x]")
                for t in child_el.types:
                    json_name = stem + t.code[:1].upper() + t.code[1:]
                    self._add(props, child_sd, child_el, t.code, json_name)
            else:
                code = child_el.types[0].code if len(child_el.types) == 1 else None
                if code in ("BackboneElement", "Element") and child_sd.children(child_el):
                    code = None
                self._add(props, child_sd, child_el, code, name)
        names: dict[str, list[str]] = {}
        for json_name, child in props.items():
            names.setdefault(child.element_name, []).append(json_name)
        return props, tuple(
            (name, minimum, tuple(names.get(name, ()))) for name, minimum in required.items()
        )

    def _add(
        self,
        props: dict[str, ChildPlan],
        sd: StructureDefinition,
        element: ElementDefinition,
        type_code: str | None,
        json_name: str,
    ) -> None:
        name = element.name.removesuffix("[x]")
        segment = f".{name}"
        if element.is_choice and type_code:
            segment = f"{segment}.ofType({type_code})"
        primitive = self.is_primitive(type_code)
        fields: dict[str, Any] = {
            "name": name,
            "segment": segment,
            "repeats": element.repeats,
            "maximum": element.cardinality.max,
            "max_text": element.cardinality.max_text,
            "element_name": element.name,
            "is_choice": element.is_choice,
            "companion": "_" + json_name if primitive else None,
            "node": None,
            "_key": (self, sd, element, type_code),
        }
        props[json_name] = ChildPlan(json_name=json_name, is_companion=False, **fields)
        if primitive:
            props["_" + json_name] = ChildPlan(json_name=json_name, is_companion=True, **fields)


def _focus_type(element: ElementDefinition, type_code: str | None) -> str:
    """The type path FHIRPath navigates from: a type name, or a backbone element path (for
    an element defined by a content reference, the path of the element it names:
    ``Questionnaire.item.item`` has the content of ``Questionnaire.item``)."""
    if type_code is not None:
        return type_code
    reference = element.content_reference
    return reference.lstrip("#") if reference is not None else element.path


def _type_of_inline(sd: StructureDefinition, element: ElementDefinition) -> str | None:
    """The type whose constraints an inline element or a resource root inherits."""
    if element.parent_path is None:
        return sd.name
    return element.types[0].code if element.types else "BackboneElement"


def _has_inline_children(sd: StructureDefinition, element: ElementDefinition) -> bool:
    return bool(sd.children(element)) or element.content_reference is not None
