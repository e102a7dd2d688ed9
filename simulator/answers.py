"""Deterministic answers: which label, which JSON value, which text the simulator returns.

Every choice derives from the request's *user text* (the text of its user-role messages, joined
by newlines) through sha256, never Python's salted `hash`, so the same request gets the same
answer in every process, forever.

- A `[[label:X]]` marker anywhere in the user text fixes the *label field* to `X`, even when `X`
  is not in the schema's enum, so a client can test its own handling of invalid output.
- The label field of a schema is the first property named `label` (depth-first), or else the
  first string property with an `enum`, or else the first string property. Without a marker its
  value is `choose_label(user_text, enum)`, which tests may call to predict the answer.
- Other fields get values derived from a hash of the user text salted with their JSON path:
  enum members, short strings like `"sim-1a2b3c4d"`, integers and numbers within their bounds,
  booleans, arrays of `minItems` (at least 1) items, and `$ref`s resolved against `$defs`.
  `pattern` is not honoured.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

#: The marker that fixes the answer: `[[label:X]]`; X runs to the first `]`.
LABEL_MARKER = re.compile(r"\[\[label:([^\]]*)\]\]")
#: Default integer range when a schema gives no bounds.
DEFAULT_INT_SPAN = 100
#: How deep `$ref`s and nesting are followed before giving up with null (guards recursion).
MAX_SCHEMA_DEPTH = 16
#: Fixed values for common string formats, which a random string would violate.
FORMAT_VALUES = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "email": "sim@example.com",
    "uri": "https://example.com/sim",
    "uuid": "00000000-0000-4000-8000-000000000000",
}

Path = tuple[str, ...]


def label_marker(text: str) -> str | None:
    """The X of the first `[[label:X]]` marker in `text`, or None."""
    match = LABEL_MARKER.search(text)
    return match.group(1) if match else None


def stable_hash(text: str, salt: str = "") -> int:
    """A 64-bit integer from sha256 of `salt` and `text`; stable across processes."""
    data = f"{salt}\x00{text}".encode() if salt else text.encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def choose_label(user_text: str, labels: Sequence[str]) -> str:
    """The label the simulator answers for `user_text` when the label field allows `labels`."""
    marked = label_marker(user_text)
    if marked is not None:
        return marked
    if not labels:
        return text_answer(user_text)
    return labels[stable_hash(user_text) % len(labels)]


def text_answer(user_text: str) -> str:
    """The plain-text reply to `user_text`: the marked label, or a short stable sentence."""
    marked = label_marker(user_text)
    if marked is not None:
        return marked
    return f"Simulated reply {stable_hash(user_text):016x}."


def value_for_schema(schema: dict[str, Any], user_text: str) -> Any:
    """A value satisfying `schema`, chosen deterministically from `user_text`."""
    builder = _ValueBuilder(schema, user_text)
    return builder.build(schema, (), 0)


class _ValueBuilder:
    """Walks one schema, filling the label field from the marker or `choose_label`."""

    def __init__(self, root: dict[str, Any], user_text: str) -> None:
        self.root = root
        self.user_text = user_text
        self.label_path = self._find_label_path(root, (), 0, by_name=True)
        if self.label_path is None:
            self.label_path = self._find_label_path(root, (), 0, by_name=False)

    def build(self, schema: dict[str, Any], path: Path, depth: int) -> Any:
        schema = self._resolve(schema, depth)
        if depth > MAX_SCHEMA_DEPTH:
            return None
        if path == self.label_path:
            return choose_label(self.user_text, _string_enum(schema))
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            options = schema["enum"]
            return options[self._hash(path) % len(options)]
        for key in ("anyOf", "oneOf", "allOf"):
            if schema.get(key):
                return self.build(schema[key][0], path, depth + 1)
        kind = _primary_type(schema)
        if kind == "object":
            properties = schema.get("properties") or {}
            return {
                name: self.build(sub, (*path, name), depth + 1) for name, sub in properties.items()
            }
        if kind == "array":
            return self._array(schema, path, depth)
        if kind == "integer":
            return self._integer(schema, path)
        if kind == "number":
            return self._number(schema, path)
        if kind == "boolean":
            return self._hash(path) % 2 == 0
        if kind == "null":
            return None
        return self._string(schema, path)

    def _hash(self, path: Path) -> int:
        return stable_hash(self.user_text, "/".join(path) or "/")

    def _resolve(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        while "$ref" in schema and depth <= MAX_SCHEMA_DEPTH:
            node: Any = self.root
            for part in schema["$ref"].lstrip("#").strip("/").split("/"):
                node = node.get(part, {}) if part and isinstance(node, dict) else node
            schema = node if isinstance(node, dict) else {}
            depth += 1
        return schema

    def _find_label_path(
        self, schema: dict[str, Any], path: Path, depth: int, *, by_name: bool
    ) -> Path | None:
        schema = self._resolve(schema, depth)
        if depth > MAX_SCHEMA_DEPTH:
            return None
        if not path and _primary_type(schema) == "string" and not by_name:
            return path
        for name, sub in (schema.get("properties") or {}).items():
            sub = self._resolve(sub, depth + 1)
            kind = _primary_type(sub)
            if by_name and name == "label" and kind in ("string", None):
                return (*path, name)
            if not by_name and kind in ("string", None) and _string_enum(sub):
                return (*path, name)
            found = self._find_label_path(sub, (*path, name), depth + 1, by_name=by_name)
            if found is not None:
                return found
        if not by_name and not path:
            for name, sub in (schema.get("properties") or {}).items():
                if _primary_type(self._resolve(sub, depth + 1)) == "string":
                    return (name,)
        return None

    def _array(self, schema: dict[str, Any], path: Path, depth: int) -> list[Any]:
        count = max(int(schema.get("minItems", 1)), 1)
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [self.build(items or {}, (*path, str(i)), depth + 1) for i in range(count)]

    def _integer(self, schema: dict[str, Any], path: Path) -> int:
        low = schema.get("minimum")
        if low is None and "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        high = schema.get("maximum")
        if high is None and "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - 1
        if low is None:
            low = int(high) - DEFAULT_INT_SPAN if high is not None else 0
        low = int(low)
        high = int(high) if high is not None else low + DEFAULT_INT_SPAN
        return low + self._hash(path) % (max(high - low, 0) + 1)

    def _number(self, schema: dict[str, Any], path: Path) -> float:
        low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0.0)))
        high = float(schema.get("maximum", schema.get("exclusiveMaximum", low + 1.0)))
        fraction = (self._hash(path) % 999 + 1) / 1000  # strictly inside (0, 1)
        return round(low + fraction * (high - low), 6)

    def _string(self, schema: dict[str, Any], path: Path) -> str:
        fmt = schema.get("format")
        if fmt in FORMAT_VALUES:
            return FORMAT_VALUES[fmt]
        value = f"sim-{self._hash(path) % 16**8:08x}"
        min_length = int(schema.get("minLength", 0))
        if len(value) < min_length:
            value += "x" * (min_length - len(value))
        if "maxLength" in schema:
            value = value[: int(schema["maxLength"])]
        return value


def _primary_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _string_enum(schema: dict[str, Any]) -> list[str]:
    return [v for v in schema.get("enum") or [] if isinstance(v, str)]
