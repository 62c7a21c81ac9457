"""The structure-definition model: what a resource-definition file says, as immutable data.

The loader (:mod:`engine.definitions.markdown`) builds these objects; everything downstream (rule
compilation, validation, the FHIR StructureDefinition writer) reads them and never
re-parses text.

Example::

    >>> import engine
    >>> defs = engine.load_definitions("definitions/ImagingSelection.md")
    >>> sd = defs["ImagingSelection"]
    >>> sd.element("ImagingSelection.instance").repeats
    True
    >>> [c.key for c in sd.constraints][:2]
    ['isl-1', 'isl-2']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Severity = Literal["fatal", "error", "warning", "information"]
BindingStrength = Literal["required", "extensible", "preferred", "example"]
Kind = Literal["resource", "complex-type", "primitive-type", "logical"]

FHIR_BASE = "http://hl7.org/fhir/"
STRUCTURE_DEFINITION_BASE = FHIR_BASE + "StructureDefinition/"
VALUE_SET_BASE = FHIR_BASE + "ValueSet/"

#: Type codes whose parenthesised list in a ``Type`` field names target profiles
#: (the resources a reference may point to) rather than profiles of the type itself.
REFERENCE_TYPES = frozenset({"Reference", "canonical", "CodeableReference"})


@dataclass(frozen=True, slots=True)
class Source:
    """Where something was defined: a file and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class DefinitionError(ValueError):
    """A definition file is malformed or inconsistent.

    Carries the file and line so that the message points at the text to fix::

        >>> str(DefinitionError("bad cardinality '1..0'", Source("X.md", 12)))
        "X.md:12: bad cardinality '1..0'"
    """

    def __init__(self, message: str, source: Source | None = None) -> None:
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


@dataclass(frozen=True, slots=True)
class Cardinality:
    """``min..max``; ``max`` is ``None`` for ``*``."""

    min: int
    max: int | None

    @property
    def repeats(self) -> bool:
        """True when more than one occurrence is allowed (the JSON form is an array)."""
        return self.max is None or self.max > 1

    @property
    def max_text(self) -> str:
        return "*" if self.max is None else str(self.max)

    def __str__(self) -> str:
        return f"{self.min}..{self.max_text}"


def canonical_for_link(link: str, base: str = STRUCTURE_DEFINITION_BASE) -> str:
    """The canonical URL a definitions-file link stands for.

    Links in the definitions are site-relative (``/Patient``) for core artefacts and
    absolute otherwise.

        >>> canonical_for_link("/Patient")
        'http://hl7.org/fhir/StructureDefinition/Patient'
        >>> canonical_for_link("/valueset-body-site", VALUE_SET_BASE)
        'http://hl7.org/fhir/ValueSet/body-site'
    """
    if not link.startswith("/"):
        return link
    name = link[1:]
    if base == VALUE_SET_BASE and name.startswith("valueset-"):
        name = name[len("valueset-") :]
    return base + name


@dataclass(frozen=True, slots=True)
class TypeRef:
    """One allowed type of an element.

    ``code`` is the FHIR type code (``id``, ``Reference``, ``BackboneElement``…);
    ``target_profiles`` are canonical URLs of what a Reference/canonical/
    CodeableReference may point to; ``profiles`` constrain the type itself.
    """

    code: str
    target_profiles: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    @property
    def target_types(self) -> tuple[str, ...]:
        """The target type names: ``('Patient', 'Group')``."""
        return tuple(url.rstrip("/").rsplit("/", 1)[-1] for url in self.target_profiles)


@dataclass(frozen=True, slots=True)
class Binding:
    """A terminology binding: ``required:[name](/valueset-name)``."""

    strength: BindingStrength
    value_set_name: str
    link: str

    @property
    def value_set(self) -> str:
        """The value set's canonical URL."""
        return canonical_for_link(self.link, VALUE_SET_BASE)


@dataclass(frozen=True, slots=True)
class Constraint:
    """An invariant: a FHIRPath expression that must be true on each occurrence of ``context``."""

    key: str
    severity: Severity
    human: str
    expression: str
    context: str
    source: Source

    @property
    def message(self) -> str:
        """The message a failure of this constraint reports (the HL7 validator's wording)."""
        return f"Constraint failed: {self.key}: '{self.human}'"


@dataclass(frozen=True, slots=True)
class Mapping_:
    """One mapping of an element to another specification (``w5=FiveWs.status``)."""

    identity: str
    map: str


@dataclass(frozen=True, slots=True)
class ElementDefinition:
    """One element (``## <path>`` section) of a structure definition."""

    path: str
    short: str
    cardinality: Cardinality
    source: Source
    definition: str = ""
    comments: str = ""
    requirements: str = ""
    aliases: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    types: tuple[TypeRef, ...] = ()
    binding: Binding | None = None
    is_summary: bool | None = None
    is_modifier: bool | None = None
    is_modifier_reason: str = ""
    constraints: tuple[Constraint, ...] = ()
    mappings: tuple[Mapping_, ...] = ()
    #: For elements defined by another element (FHIR ``contentReference``), that
    #: element's path, e.g. ``Questionnaire.item`` for ``Questionnaire.item.item``.
    content_reference: str | None = None
    #: For the value of a primitive type: the regular expression its lexical form matches.
    regex: str | None = None
    #: The smallest and largest value an integer element may have (FHIR ``minValueInteger``,
    #: ``maxValueInteger`` and their ``integer64`` forms): ``integer.value`` is 32-bit.
    min_value: int | None = None
    max_value: int | None = None

    @property
    def name(self) -> str:
        """The last path segment: ``value[x]``, ``instance``."""
        return self.path.rsplit(".", 1)[-1]

    @property
    def parent_path(self) -> str | None:
        return self.path.rsplit(".", 1)[0] if "." in self.path else None

    @property
    def repeats(self) -> bool:
        return self.cardinality.repeats

    @property
    def is_choice(self) -> bool:
        """A choice element (``value[x]``): its JSON name carries the type."""
        return self.name.endswith("[x]")

    @property
    def type_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.types)


@dataclass(frozen=True)
class StructureDefinition:
    """A resource or data type: its elements in definition order, root first."""

    name: str
    kind: Kind
    base: str | None
    elements: tuple[ElementDefinition, ...]
    source: Source
    title: str = ""
    abstract: bool = False
    front_matter: Mapping[str, Any] = field(default_factory=dict)
    _by_path: dict[str, ElementDefinition] = field(init=False, repr=False, compare=False)
    _children: dict[str, tuple[ElementDefinition, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_path = {e.path: e for e in self.elements}
        children: dict[str, list[ElementDefinition]] = {e.path: [] for e in self.elements}
        for e in self.elements:
            if e.parent_path is not None and e.parent_path in children:
                children[e.parent_path].append(e)
        object.__setattr__(self, "_by_path", by_path)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})

    @property
    def url(self) -> str:
        return STRUCTURE_DEFINITION_BASE + self.name

    @property
    def root(self) -> ElementDefinition:
        return self.elements[0]

    def element(self, path: str) -> ElementDefinition:
        """The element at ``path``; ``KeyError`` when there is none."""
        return self._by_path[path]

    def get(self, path: str) -> ElementDefinition | None:
        return self._by_path.get(path)

    def children(self, element: ElementDefinition | str) -> tuple[ElementDefinition, ...]:
        """The direct child elements, in definition order."""
        path = element if isinstance(element, str) else element.path
        return self._children.get(path, ())

    def parent(self, element: ElementDefinition | str) -> ElementDefinition | None:
        path = element if isinstance(element, str) else element.path
        parent_path = path.rsplit(".", 1)[0] if "." in path else None
        return self._by_path.get(parent_path) if parent_path else None

    @property
    def constraints(self) -> tuple[Constraint, ...]:
        """Every constraint of every element, in definition order."""
        return tuple(c for e in self.elements for c in e.constraints)

    def __iter__(self) -> Iterator[ElementDefinition]:
        return iter(self.elements)

    def to_fhir(self) -> dict[str, Any]:
        """This definition as a FHIR R5 StructureDefinition resource (a JSON-ready dict)."""
        from engine.model.fhir_export import structure_definition_to_fhir

        return structure_definition_to_fhir(self)


@dataclass(frozen=True, slots=True)
class ValueSet:
    """The codes of a value set, where they can be enumerated.

    ``codes`` holds ``(system, code)`` pairs; ``system`` is ``None`` when a definition
    lists bare codes (the short description of a required ``code`` element).
    ``deprecated`` holds the codes among them that their code system (or the value set)
    marks deprecated: still valid, but their use should be reviewed.
    """

    url: str
    name: str
    codes: frozenset[tuple[str | None, str]]
    deprecated: frozenset[tuple[str | None, str]] = frozenset()

    def contains(self, code: str, system: str | None = None) -> bool:
        if system is None:
            return any(c == code for _, c in self.codes)
        return (system, code) in self.codes or (None, code) in self.codes


_V = TypeVar("_V")


class LazyMapping(Mapping[str, _V]):
    """A read-only mapping whose values are built on first use and then kept.

    Either the keys are known upfront and ``load(key)`` builds one value (a type read
    from its compiled rule file), or ``load_all()`` builds the whole mapping the first
    time anything is asked (value sets read from a data file). :class:`Definitions`
    keeps a ``LazyMapping`` as it is instead of copying it, so nothing is loaded
    until validation needs it.

        >>> types = LazyMapping(["A", "B"], load=str.lower)
        >>> sorted(types), types["B"]
        (['A', 'B'], 'b')
    """

    def __init__(
        self,
        keys: Iterable[str] = (),
        load: Callable[[str], _V] | None = None,
        *,
        load_all: Callable[[], Mapping[str, _V]] | None = None,
    ) -> None:
        if (load is None) == (load_all is None):
            raise TypeError("LazyMapping needs exactly one of load and load_all")
        self._keys = tuple(dict.fromkeys(keys))
        self._key_set = frozenset(self._keys)
        self._load = load
        self._load_all = load_all
        self._loaded: dict[str, _V] = {}

    def _everything(self) -> dict[str, _V]:
        if self._load_all is not None:
            self._loaded = dict(self._load_all())
            self._keys = tuple(self._loaded)
            self._key_set = frozenset(self._keys)
            self._load_all = None
        return self._loaded

    def __getitem__(self, key: str) -> _V:
        loaded = self._everything()
        if key in loaded:
            return loaded[key]
        if key not in self._key_set or self._load is None:
            raise KeyError(key)
        value = loaded[key] = self._load(key)
        return value

    def __contains__(self, key: object) -> bool:
        self._everything()
        return key in self._key_set

    def __iter__(self) -> Iterator[str]:
        self._everything()
        return iter(self._keys)

    def __len__(self) -> int:
        self._everything()
        return len(self._keys)


class Definitions(Mapping[str, StructureDefinition]):
    """The loaded definitions: type name → :class:`StructureDefinition`, plus value sets.

        >>> defs = engine.load_definitions("definitions")
        >>> "ImagingSelection" in defs
        True

    Types and value sets given as a :class:`LazyMapping` load on first access (the
    compiled rules loader, :func:`engine.rules.loader.load_rules`, does this).
    ``suppressed`` maps constraint keys switched off by local rules to the written
    reason (:func:`engine.rules.local.apply_local_rules`): validation skips them and
    reports say which were suppressed. ``constraint_owners`` (constraint key → the names of
    the types defining it) lets lazily loaded definitions answer :meth:`constraint_owners`
    without loading every type; without it the answer is computed from the types.
    """

    def __init__(
        self,
        types: Mapping[str, StructureDefinition],
        value_sets: Mapping[str, ValueSet] | None = None,
        *,
        suppressed: Mapping[str, str] | None = None,
        constraint_owners: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._types: Mapping[str, StructureDefinition] = (
            types if isinstance(types, LazyMapping) else dict(types)
        )
        self.value_sets: Mapping[str, ValueSet] = (
            value_sets if isinstance(value_sets, LazyMapping) else dict(value_sets or {})
        )
        self.suppressed: Mapping[str, str] = dict(suppressed or {})
        self._owners = dict(constraint_owners) if constraint_owners is not None else None

    def constraint_owners(self) -> Mapping[str, tuple[str, ...]]:
        """Every constraint key → the names of the types defining it (FHIR scopes keys by
        type, so a few keys, like R5's ``cnl-0``, belong to several).

            >>> defs.constraint_owners()["isl-1"]
            ('ImagingSelection',)
        """
        if self._owners is None:
            owners: dict[str, tuple[str, ...]] = {}
            for name, sd in self.items():
                for c in sd.constraints:
                    owners[c.key] = (*owners.get(c.key, ()), name)
            self._owners = owners
        return self._owners

    def __getitem__(self, name: str) -> StructureDefinition:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def lineage(self, name: str) -> tuple[StructureDefinition, ...]:
        """The type and its loaded base types, most specific first
        (ImagingSelection, DomainResource, Resource)."""
        chain: list[StructureDefinition] = []
        current: str | None = name
        while current is not None and current in self._types and len(chain) < 32:
            sd = self._types[current]
            chain.append(sd)
            current = sd.base
        return tuple(chain)

    def value_set(self, url: str) -> ValueSet | None:
        """The value set with this canonical URL (a ``|version`` suffix is ignored)."""
        return self.value_sets.get(url.split("|", 1)[0])

    def children_of(
        self, sd: StructureDefinition, element: ElementDefinition
    ) -> dict[str, tuple[StructureDefinition, ElementDefinition]]:
        """The elements that may appear inside one occurrence of ``element``, by name.

        Resolves what the JSON nesting needs: inline children (BackboneElement), the
        elements of the element's data type, elements shared by ``contentReference``,
        and inherited ones (``id``, ``extension``, ``meta``…) from the loaded base types.
        Names of choice elements keep their ``[x]``. Empty when the type is not loaded.

            >>> sd = defs["ImagingSelection"]
            >>> sorted(defs.children_of(sd, sd.element("ImagingSelection.instance")))[:3]
            ['extension', 'frameNumber', 'id']
        """
        if element.content_reference is not None:
            target = self.content_target(sd, element.content_reference)
            if target is None:
                return {}
            sd, element = target
        result: dict[str, tuple[StructureDefinition, ElementDefinition]] = {}
        inline = sd.children(element)
        if element.parent_path is None:
            chain: tuple[StructureDefinition, ...] = self.lineage(sd.name) or (sd,)
        elif inline:
            chain = self.lineage((element.type_codes or ("BackboneElement",))[0])
            for child in inline:
                result[child.name] = (sd, child)
        elif len(element.types) == 1:
            chain = self.lineage(element.types[0].code)
        else:
            chain = ()
        for base in chain:
            for child in base.children(base.root):
                result.setdefault(child.name, (base, child))
        return result

    def content_target(
        self, sd: StructureDefinition, reference: str
    ) -> tuple[StructureDefinition, ElementDefinition] | None:
        """The element a ``contentReference`` (``#Questionnaire.item``) stands for."""
        path = reference.lstrip("#")
        owner = self._types.get(path.split(".", 1)[0], sd)
        target = owner.get(path)
        return (owner, target) if target is not None else None

    def is_complete_lineage(self, name: str) -> bool:
        """True when ``name`` and every base type it names are loaded."""
        chain = self.lineage(name)
        return bool(chain) and chain[-1].base is None
