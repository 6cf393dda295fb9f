"""Reading a city file: UTF-8 YAML in, dicts, lists and scalars out, with `LineDict` for
mappings so that a check can name the line of what it finds wrong.

Pure: bytes or text in, a document out, or the first problem with its line.

The document is built straight from the parser's events, as PyYAML's composer and safe
constructor would build it together, but without their node tree: that tree is over a
million small objects for a city of 10,000 residents, all alive until the end, and the
cyclic garbage collector walks them again and again (the file read four times slower).
Events are dropped as soon as they are read, so only the document stays, and the
collector is left alone (it serves the rest of the process meanwhile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from dispatcher.city_file.rows import CityDataError, CityError


class LineDict(dict[Any, Any]):
    """A YAML mapping that remembers where it and each of its keys are (1-based lines)
    and which keys it had twice (YAML would silently keep the last)."""

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.duplicate_keys: list[tuple[Any, int]] = []


def line_of(value: object, key: object = None) -> int | None:
    """The line of `key` in the mapping `value`, else of `value` itself, when known."""
    if not isinstance(value, LineDict):
        return None
    if key is not None and key in value.key_lines:
        return value.key_lines[key]
    return value.line


def read_document(raw: bytes) -> Any:
    """A city file's bytes as a document (`read_yaml`). Raises `CityDataError` when they
    are not UTF-8 or not YAML."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CityDataError(
            [CityError("file", f"is not UTF-8 text (byte {exc.start} is {raw[exc.start]:#x})")]
        ) from None
    try:
        return read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"is not valid YAML: {problem}" + (f" ({context})" if context else "")
        raise CityDataError([CityError("file", message, line)]) from None


def read_yaml(text: str) -> Any:
    """Read YAML (the safe subset, one document) into dicts, lists and scalars, with
    `LineDict` for mappings. Unquoted `20:00` and `+8613800000001` stay text.
    Raises `yaml.YAMLError` with the mark of the first problem."""
    loader = _LOADER(text)
    try:
        return _Reader(loader).document()
    finally:
        loader.dispose()


# libyaml's parser; PyYAML's own where PyYAML was built without libyaml
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG: Final = "tag:yaml.org,2002:str"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
_VALUE_TAG: Final = "tag:yaml.org,2002:value"
# plain scalars that YAML 1.1 reads as numbers although they are plainly text here:
# 20:00 would be the base-60 number 1200, +8613800000001 a number without its plus
_TEXT_LOOKING_INT: Final = re.compile(r"[0-9]{1,2}:[0-5][0-9]|\+[0-9]+")
# lists and mappings within each other: a city file needs 6; far more would exhaust
# Python's stack (a crash, not an error naming the line)
MAX_DEPTH: Final = 100

# a position in the text; the C and the Python parser each have their own class for it
_Mark: TypeAlias = Any
# an entry of a mapping: key, line of the key, value
_Entry: TypeAlias = tuple[Any, int, Any]


@dataclass(frozen=True, slots=True)
class _Anchor:
    """What an anchor names: the value built for it, where it is, and its kind of node."""

    value: Any
    mark: _Mark
    kind: str


def _at(event: Event) -> _Mark:
    """Where `event` starts (typed loosely: PyYAML's stubs take only the Python
    parser's marks in errors, but every error prints either kind)."""
    return event.start_mark


def _kind(value: object) -> str:
    """The kind of node (PyYAML's word) a built value came from."""
    if isinstance(value, LineDict):
        return "mapping"
    if isinstance(value, list):
        return "sequence"
    return "scalar"


class _Reader:
    """Builds the one document of a stream of parser events, with PyYAML's tags, anchors,
    merge keys (`<<`) and error messages."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._constructor = SafeConstructor()
        self._anchors: dict[str | None, _Anchor] = {}
        self._depth = 0
        # the first value that cannot be built; raised once the whole stream is parsed,
        # so that, as with PyYAML, a syntax error anywhere is the one reported
        self._error: yaml.YAMLError | None = None

    def document(self) -> Any:
        loader = self._loader
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            return None
        loader.get_event()  # document start
        start = loader.peek_event().start_mark
        value = self._node()
        loader.get_event()  # document end
        if not loader.check_event(StreamEndEvent):
            raise ComposerError(
                "expected a single document in the stream",
                start,
                "but found another document",
                loader.get_event().start_mark,
            )
        if self._error is not None:
            raise self._error
        return value

    def _fail(self, error: yaml.YAMLError) -> None:
        if self._error is None:
            self._error = error

    def _node(self) -> Any:
        event = self._loader.get_event()
        if isinstance(event, ScalarEvent):
            return self._scalar(event, self._tag(event))
        if isinstance(event, MappingStartEvent):
            return self._mapping(event)
        if isinstance(event, SequenceStartEvent):
            return self._sequence(event)
        if isinstance(event, AliasEvent):
            return self._alias(event).value
        raise ComposerError(None, None, f"unexpected {type(event).__name__}", _at(event))

    def _enter(self, event: Event) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(
                None, None, f"lists and mappings nest deeper than {MAX_DEPTH}", _at(event)
            )

    def _name(self, event: Any, value: Any, kind: str) -> None:
        """Remember the value of an anchored node, for its aliases."""
        anchor = event.anchor
        if anchor is None:
            return
        if anchor in self._anchors:
            raise ComposerError(
                "found duplicate anchor; first occurrence",
                self._anchors[anchor].mark,
                "second occurrence",
                _at(event),
            )
        self._anchors[anchor] = _Anchor(value, _at(event), kind)

    def _alias(self, event: AliasEvent) -> _Anchor:
        found = self._anchors.get(event.anchor)
        if found is None:
            raise ComposerError(None, None, "found undefined alias", _at(event))
        return found

    def _tag(self, event: ScalarEvent) -> str:
        if event.tag is None or event.tag == "!":
            return self._loader.resolve(ScalarNode, event.value, event.implicit)  # type: ignore[no-any-return]
        return event.tag

    def _scalar(self, event: ScalarEvent, tag: str) -> Any:
        value: Any = event.value
        if tag != _STR_TAG and not (
            tag == _INT_TAG and not event.style and _TEXT_LOOKING_INT.fullmatch(value)
        ):
            value = self._construct(ScalarNode(tag, value, _at(event), None, event.style))
        self._name(event, value, "scalar")
        return value

    def _construct(self, node: ScalarNode) -> Any:
        constructor = self._constructor
        try:
            return constructor.construct_object(node, deep=True)
        except ConstructorError as exc:
            self._fail(exc)
        except Exception:  # PyYAML's int, float, bool and timestamp fail with anything
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self._fail(
                ConstructorError(
                    None,
                    None,
                    f"{node.value!r} is not a valid {tag}; quote it if it is meant as text",
                    node.start_mark,
                )
            )
        finally:
            constructor.constructed_objects.clear()
            constructor.recursive_objects.clear()
        return None

    def _sequence(self, event: SequenceStartEvent) -> list[Any]:
        self._enter(event)
        items: list[Any] = []
        self._name(event, items, "sequence")
        loader = self._loader
        while not loader.check_event(SequenceEndEvent):
            items.append(self._node())
        loader.get_event()
        self._depth -= 1
        return items

    def _mapping(self, event: MappingStartEvent, *, merged_away: bool = False) -> LineDict:
        """`merged_away`: the mapping is written as the value of a `<<` key."""
        self._enter(event)
        result = LineDict(_at(event).line + 1)
        self._name(event, result, "mapping")
        loader = self._loader
        merged: list[_Entry] = []
        merged_keys: set[int] = set()
        entries: list[_Entry] = []
        value_keys: list[ScalarEvent] = []  # keys written `=`
        merges = False
        while not loader.check_event(MappingEndEvent):
            key_event = loader.peek_event()
            key_mark = key_event.start_mark
            if isinstance(key_event, ScalarEvent):
                loader.get_event()
                tag = self._tag(key_event)
                if tag == _MERGE_TAG:
                    merges = True
                    self._merge(_at(event), merged, merged_keys)
                    continue
                if tag == _VALUE_TAG:
                    value_keys.append(key_event)
                    key: Any = key_event.value
                else:
                    key = self._scalar(key_event, tag)
            elif isinstance(key_event, AliasEvent):
                loader.get_event()
                anchor = self._alias(key_event)
                key, key_mark = anchor.value, anchor.mark
            else:
                key = self._node()
            try:
                hash(key)
            except TypeError:
                self._fail(
                    ConstructorError(
                        "while reading a mapping",
                        _at(event),
                        "found a key that is not a plain value",
                        key_mark,
                    )
                )
                self._node()
                continue
            entries.append((key, key_mark.line + 1, self._node()))
        loader.get_event()
        if value_keys and not merges and not merged_away:
            # PyYAML takes `=` for a key only in a mapping that merges or is merged, and
            # has nothing to build it with elsewhere
            self._scalar(value_keys[0], _VALUE_TAG)
        # PyYAML's order: the merged entries first, so that an own key given again
        # counts as twice-given
        for key, line, value in (*merged, *entries):
            if key in result:
                result.duplicate_keys.append((key, line))
            result.key_lines[key] = line
            result[key] = value
        self._depth -= 1
        return result

    def _merge(self, mapping_mark: _Mark, merged: list[_Entry], merged_keys: set[int]) -> None:
        """The value of a `<<` key, a mapping or a list of mappings, into `merged`."""
        loader = self._loader
        event = loader.peek_event()
        if isinstance(event, SequenceStartEvent):
            loader.get_event()
            items: list[Any] = []
            self._name(event, items, "sequence")
            sources = []
            while not loader.check_event(SequenceEndEvent):
                sources.append(self._merge_source(loader.peek_event()))
                items.append(sources[-1][0])
            loader.get_event()
            wanted = "a mapping"
        else:
            value, mark, kind = self._merge_source(event)
            if kind == "sequence":  # an alias of a list
                sources = [(item, mark, _kind(item)) for item in value]
                wanted = "a mapping"
            else:
                sources = [(value, mark, kind)]
                wanted = "a mapping or list of mappings"
        for value, mark, kind in sources:
            if kind != "mapping":
                self._fail(
                    ConstructorError(
                        "while constructing a mapping",
                        mapping_mark,
                        f"expected {wanted} for merging, but found {kind}",
                        mark,
                    )
                )
                return
            entries = [(key, value.key_lines[key], item) for key, item in value.items()]
            entries += [(key, line, value[key]) for key, line in value.duplicate_keys]
            for entry in entries:
                # PyYAML merges a key node once: the same mapping merged twice, or
                # merged again through another, adds nothing the second time
                if id(entry[0]) not in merged_keys:
                    merged_keys.add(id(entry[0]))
                    merged.append(entry)

    def _merge_source(self, event: Event) -> tuple[Any, _Mark, str]:
        if isinstance(event, AliasEvent):
            self._loader.get_event()
            anchor = self._alias(event)
            return anchor.value, anchor.mark, anchor.kind
        if isinstance(event, MappingStartEvent):
            self._loader.get_event()
            return self._mapping(event, merged_away=True), _at(event), "mapping"
        value = self._node()
        return value, _at(event), _kind(value)
