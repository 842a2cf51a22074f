"""YAML loading that remembers where every key and value came from.

We compose the YAML into nodes with PyYAML's safe loader and build plain Python values ourselves,
so that we can (a) record a "file:line:col" for every dotted key, (b) refuse duplicate keys and
non-standard tags such as ``!!python/object``, and (c) bound alias expansion ("billion laughs"),
nesting and file size, so that no input makes validation slow or large.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from easytrain.errors import Problem, RecipeError

Path_ = tuple[str | int, ...]

MAX_NODES = 200_000  # values after alias expansion; real recipes have a few hundred
MAX_DEPTH = 100  # nesting levels; real recipes have under 10. PyYAML's scanner slows down with
# the square of the depth of `[[[…` (a 10 kB line took seconds) and its composer recurses per level
MAX_BYTES = 1_000_000  # a recipe file; the shipped ones are 1–2 kB, and PyYAML reads ~2 MB/s
_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
}


class Positions(dict[Path_, str]):
    """Dotted path → "file:line:col" (or an override's text). Looks up the nearest ancestor."""

    def nearest(self, path: Path_) -> str:
        for end in range(len(path), -1, -1):
            if path[:end] in self:
                return self[path[:end]]
        return ""


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


class _Builder:
    def __init__(self, label: str):
        self.label = label
        self.positions = Positions()
        self.problems: list[Problem] = []
        self.count = 0
        self._scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def where(self, node: yaml.Node) -> str:
        return f"{self.label}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise RecipeError(
                Problem(
                    f"the recipe expands to more than {MAX_NODES:,} values "
                    "(an alias bomb?); refusing to read it",
                    where=self.where(node),
                )
            )
        self.positions.setdefault(path, self.where(node))
        if node.tag not in _STANDARD_TAGS:
            self.problems.append(
                Problem(
                    f"YAML tag '{node.tag}' is not allowed: a recipe holds plain data and "
                    "cannot construct Python objects",
                    key=dotted(path),
                    where=self.where(node),
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        merged: dict[Any, Any] = {}
        # Merge keys first (`<<: *defaults`), so that explicit keys win, positions included.
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged |= self._merge(value_node, path)
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(
                        "a key must be a plain word, not a list or mapping",
                        key=dotted(path),
                        where=self.where(key_node),
                    )
                )
                continue
            key = self._key(key_node)
            if key in result:
                self.problems.append(
                    Problem(
                        f"duplicate key '{key}' (first at line {first_line[key]})",
                        key=dotted((*path, key)),
                        where=self.where(key_node),
                    )
                )
                continue
            first_line[key] = key_node.start_mark.line + 1
            self.positions[(*path, key)] = self.where(key_node)
            result[key] = self.build(value_node, (*path, key))
        return {**merged, **result}

    def _merge(self, value_node: yaml.Node, path: Path_) -> dict[Any, Any]:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        merged: dict[Any, Any] = {}
        for source in reversed(sources):  # earlier sources win, as in YAML's merge rules
            value = self.build(source, path)
            if not isinstance(value, dict):
                self.problems.append(
                    Problem(
                        "'<<' merges a mapping (an alias such as *defaults), not a single value",
                        key=dotted(path),
                        where=self.where(source),
                    )
                )
                continue
            merged |= value
        return merged

    def _key(self, key_node: yaml.ScalarNode) -> Any:
        if key_node.tag in _STANDARD_TAGS:
            return self._scalars.construct_object(key_node)
        self.problems.append(
            Problem(
                f"YAML tag '{key_node.tag}' is not allowed on a key", where=self.where(key_node)
            )
        )
        return key_node.value


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark):
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than MAX_DEPTH where it starts."""

    _depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:  # before the scanner looks ahead any further
            raise _TooDeep(self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_text(text: str, label: str) -> tuple[Any, Positions]:
    """Parse YAML text into plain data and the position of every path in it."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        where = f"{label}:{exc.mark.line + 1}:{exc.mark.column + 1}"
        message = f"the recipe is nested too deeply (more than {MAX_DEPTH} levels)"
        raise RecipeError(Problem(message, where=where)) from None
    except RecursionError:
        raise RecipeError(Problem("the recipe is nested too deeply", where=label)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        raise RecipeError(Problem(f"YAML syntax error: {reason}", where=where)) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, e.g. NUL
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        reason = str(exc).splitlines()[0]
        raise RecipeError(
            Problem(f"YAML error: {reason}", where=f"{label}:{line}:{column}")
        ) from None
    except yaml.YAMLError as exc:
        raise RecipeError(Problem(f"YAML error: {exc}", where=label)) from None
    if node is None:
        return None, Positions()
    builder = _Builder(label)
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise RecipeError(Problem("the recipe is nested too deeply", where=label)) from None
    if builder.problems:
        raise RecipeError(builder.problems)
    return data, builder.positions


def read_text(path: Path) -> str:
    """Read a recipe file as UTF-8, pointing at the first byte that is not."""
    if path.exists() and not (path.is_file() or path.is_dir()):  # opening a FIFO waits forever
        raise RecipeError(
            Problem("not a regular file (a FIFO, device or socket); give a recipe file", str(path))
        )
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise RecipeError(Problem("no such recipe file", where=str(path))) from None
    except IsADirectoryError:
        raise RecipeError(Problem("this is a folder, not a recipe file", where=str(path))) from None
    except OSError as exc:
        raise RecipeError(
            Problem(f"cannot read the recipe: {exc.strerror}", where=str(path))
        ) from None
    if len(raw) > MAX_BYTES:
        raise RecipeError(
            Problem(
                f"the file is over {MAX_BYTES:,} bytes; a recipe is a few kB of settings",
                where=str(path),
            )
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecipeError(
            Problem(
                f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                where=f"{path}:{line}:{column}",
            )
        ) from None


def load_file(path: Path) -> tuple[Any, Positions]:
    return load_text(read_text(path), str(path))
