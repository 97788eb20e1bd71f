"""The one YAML loader of hetsim: safe, strict about duplicate keys, and bounded.

Every YAML file a user hands hetsim (scenarios, architectures, runtimes, workload and model
configs) is parsed here. Beyond ``yaml.SafeLoader`` (no arbitrary Python objects) it refuses:

* a key written twice in one mapping (YAML forbids it; PyYAML would silently keep the last);
* nesting deeper than :data:`MAX_DEPTH` levels (10,000 nested brackets used to end in a
  ``RecursionError`` inside PyYAML's recursive composer);
* aliases that expand a document to more than :data:`MAX_VALUES` values ("billion laughs": a few
  lines of ``&a [*b, *b, ...]`` that a JSON dump, a deep copy or a sweep would expand into
  gigabytes), and recursive aliases (``&a [*a]``), which no hetsim file needs.

It also reads files defensively (:func:`read_text`): only regular files (``/dev/zero``, a FIFO or a
folder would hang or exhaust memory), at most :data:`MAX_FILE_BYTES`, UTF-8.

It lives in ``workloads`` (the lower layer) so that model config files use it too; errors are
``yaml.MarkedYAMLError`` (with a line and column) or :class:`InputFileError`.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

#: Deepest nesting of mappings and lists accepted (hetsim's own files nest fewer than 10 levels).
MAX_DEPTH = 100
#: Most values (scalars, lists, mappings) a document may hold once its aliases are expanded.
MAX_VALUES = 1_000_000
#: Largest input text file read (the biggest shipped YAML file is a few kB).
MAX_FILE_BYTES = 64 * 2**20


class InputFileError(ValueError):
    """A file that cannot be used as text input: not a regular file, too large, not UTF-8, unreadable."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(path, message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def read_text(path: Path, *, what: str = "file", limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, or :class:`InputFileError` saying why not."""
    name = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(name, f"{what} not found (no such file)") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputFileError(name, f"cannot read the {what}: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(name, f"expected a {what}, found a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(name, f"expected a {what}, found a device, pipe or socket (not a regular file)")
    if info.st_size > limit:
        raise InputFileError(name, f"the {what} is {info.st_size:,} bytes; hetsim reads at most {limit:,}")
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputFileError(name, f"cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputFileError(name, f"the {what} is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1]
        raise InputFileError(name, f"expected a {what} in UTF-8 text; byte {exc.start} is {byte!r}") from None


class YAMLBoundError(yaml.composer.ComposerError):
    """A document over one of the bounds (depth, expanded size) or with a recursive alias."""


class BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the bounds above and no duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """PyYAML's composer recurses per level: stop before Python's recursion limit does."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise YAMLBoundError(None, None, f"nesting deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        """The document's node graph, checked for alias bombs and cycles before anything is built from it."""
        node = super().get_single_node()
        if node is not None:
            check_node_graph(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Reject a key written twice in one mapping (merge keys ``<<`` may still override)."""
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue  # unhashable keys are reported by the base class
            key = self.construct_object(key_node, deep=deep)
            first = seen.get(key)
            if first is not None:
                problem = f"key {key!r} appears twice (first on line {first.start_mark.line + 1})"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_node_graph(root: yaml.Node) -> None:
    """Raise a ``ComposerError`` for a recursive alias, nesting over the bound, or too many expanded values.

    Iterative (no recursion), linear in the number of distinct nodes: a shared node (an alias) is
    sized once and counted at every place it is used.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            total = 1 + sum(size[id(child)] for child in _children(node))
            if total > MAX_VALUES:
                raise YAMLBoundError(
                    None,
                    None,
                    f"aliases expand this document to more than {MAX_VALUES:,} values (an alias bomb?); "
                    "write the values out or use fewer aliases",
                    node.start_mark,
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise YAMLBoundError(None, None, "a recursive alias (a value that contains itself)", node.start_mark)
        if depth > MAX_DEPTH:
            raise YAMLBoundError(None, None, f"nesting deeper than {MAX_DEPTH} levels", node.start_mark)
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((child, depth + 1, False) for child in _children(node) if id(child) not in size)


def load_yaml(text: str) -> Any:
    """Parse YAML text with :class:`BoundedLoader` (raises ``yaml.YAMLError`` subclasses)."""
    return yaml.load(text, Loader=BoundedLoader)  # a SafeLoader subclass: no arbitrary objects


__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "BoundedLoader",
    "InputFileError",
    "YAMLBoundError",
    "load_yaml",
    "read_text",
]
