"""Reading a city file: UTF-8 YAML in, dicts, lists and scalars out, with `LineDict` for
mappings so that a check can name the line of what it finds wrong.

Pure: bytes or text in, a document out, or the first problem with its line.
"""

from __future__ import annotations

import gc
import re
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from dispatcher.city.rows import CityDataError, CityError


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


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INT_TAG: Final = "tag:yaml.org,2002:int"
_STR_TAG: Final = "tag:yaml.org,2002:str"
_MERGE_TAG: Final = "tag:yaml.org,2002:merge"
# plain scalars that YAML 1.1 reads as numbers although they are plainly text here:
# 20:00 would be the base-60 number 1200, +8613800000001 a number without its plus
_TEXT_LOOKING_INT: Final = re.compile(r"[0-9]{1,2}:[0-5][0-9]|\+[0-9]+")


def read_yaml(text: str) -> Any:
    """Read YAML (the safe subset) into dicts, lists and scalars, with `LineDict` for
    mappings. Unquoted `20:00` and `+8613800000001` stay text. Raises `yaml.YAMLError`."""
    # the node tree of a city is millions of small objects that all stay alive until
    # the end: the cyclic garbage collector would walk them again and again (5x slower)
    collecting = gc.isenabled()
    gc.disable()
    try:
        node = yaml.compose(text, Loader=_YAML_LOADER)
        return None if node is None else _Builder().build(node)
    finally:
        if collecting:
            gc.enable()


class _Builder:
    def __init__(self) -> None:
        self._constructor = yaml.constructor.SafeConstructor()
        self._built: dict[int, Any] = {}  # anchors: the same node gives the same object

    def build(self, node: Node) -> Any:
        known = self._built.get(id(node))
        if known is not None:
            return known
        if isinstance(node, MappingNode):
            return self._mapping(node)
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            self._built[id(node)] = items
            items.extend(self.build(child) for child in node.value)
            return items
        if isinstance(node, ScalarNode):
            value = node.value
            if node.tag == _STR_TAG:
                return value
            if node.tag == _INT_TAG and not node.style and _TEXT_LOOKING_INT.fullmatch(value):
                return value
            return self._constructor.construct_object(node, deep=True)
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected YAML node {type(node).__name__}", node.start_mark
        )

    def _mapping(self, node: MappingNode) -> LineDict:
        result = LineDict(node.start_mark.line + 1)
        self._built[id(node)] = result
        if any(key.tag == _MERGE_TAG for key, _ in node.value):
            self._constructor.flatten_mapping(node)  # merge keys (<<: *anchor)
        for key_node, value_node in node.value:
            key = self.build(key_node)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "found a key that is not a plain value",
                    key_node.start_mark,
                ) from None
            line = key_node.start_mark.line + 1
            if key in result:
                result.duplicate_keys.append((key, line))
            result.key_lines[key] = line
            result[key] = self.build(value_node)
        return result
