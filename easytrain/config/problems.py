"""Turn pydantic's validation errors into located, human problems."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from easytrain.config.annotations import is_model, members
from easytrain.config.augment import AUGMENT_KINDS
from easytrain.config.backbones import torchvision_models
from easytrain.config.layers import LAYER_KINDS
from easytrain.config.yamlpos import Path_, Positions, dotted
from easytrain.errors import Problem, suggest

_TYPE_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "dict": "a mapping of keys to values",
    "model": "a mapping of keys to values",
}


def _got(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _tags(model: type[BaseModel]) -> set[Any]:
    tags = {
        model.model_fields[key].default for key in ("type", "source") if key in model.model_fields
    }
    return tags | {getattr(model, "union_tag", None)}


def models_at(root: type[BaseModel], loc: Path_) -> list[type[BaseModel]]:
    """Every model class that can stand at `loc` (pydantic's loc, union tags included)."""
    current: list[Any] = [root]
    for part in loc:
        following: list[Any] = []
        for annotation in current:
            for member in members(annotation):
                origin = get_origin(member)
                if is_model(member):
                    if part in member.model_fields:
                        following.append(member.model_fields[part].annotation)
                    if part in _tags(member):
                        following.append(member)
                elif origin is list and isinstance(part, int):
                    following.append(get_args(member)[0])
                elif origin is dict and isinstance(part, str):
                    following.append(get_args(member)[1])
        if not following:  # a union tag we do not know: stay where we are
            following = current
        current = following
    return [m for a in current for m in members(a) if is_model(m)]


def data_path(data: Any, loc: Path_, root: type[BaseModel] | None = None) -> Path_:
    """pydantic's loc without the union tags it inserts, i.e. the path in the user's data."""
    return _walk(data, loc, root)[0]


def _walk(
    data: Any, loc: Path_, root: type[BaseModel] | None, missing: bool = False
) -> tuple[Path_, tuple[Path_, str] | None]:
    """The path in the user's data, and the deepest union member pydantic named on the way
    (where it is, and the member's name: a tag such as 'cnn', or 'constrained-float')."""
    path: list[str | int] = []
    node, branch = data, None
    for index, part in enumerate(loc):
        if part == "[key]":  # pydantic's marker for an error in a mapping's key
            continue
        last = index == len(loc) - 1
        tag = root is not None and isinstance(part, str) and _is_tag(root, loc[:index], part)
        if tag and not (last and missing):  # `text:` is a data source and a TextData key
            branch = (tuple(path), str(part))
            continue
        container: Any = node  # a mapping or a list, indexed by a key or a position
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            node = container[part]
        elif isinstance(part, str) and (not last or not missing):
            branch = (tuple(path), part)
            continue  # a tag such as 'cnn' or 'conv', or a member of a union: 'constrained-float'
        else:
            node = None
        path.append(part)
    return tuple(path), branch


def _is_tag(root: type[BaseModel], parent: Path_, part: str) -> bool:
    candidates = models_at(root, parent) if parent else []
    return len(candidates) > 1 and any(part in _tags(model) for model in candidates)


def _unknown_member(kind: str, ctx: dict[str, Any], value: Any, loc: Path_) -> tuple[str, Path_]:
    """A `type:` / `source:` / layer / augmentation that no member of the union has."""
    expected = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
    expected = [t for t in expected if t and t not in ("import-path", "torchvision")]
    if loc and loc[0] == "model" and "layers" in loc and kind == "union_tag_not_found":
        return (
            f"a layer is one kind with its settings, e.g. `conv: {{channels: 32}}` or `flatten`; "
            f"got {_got(value)}; kinds: {', '.join(LAYER_KINDS)}",
            loc,
        )
    if loc[:2] == ("preprocess", "augment") and kind == "union_tag_not_found":
        return (
            f"an augmentation is one kind with its settings, e.g. `hflip` or `{{rotation: 10}}`; "
            f"got {_got(value)}; kinds: {', '.join(AUGMENT_KINDS)}",
            loc,
        )
    key = "source" if loc and loc[0] == "data" else "type"
    tag = ctx.get("tag", "")
    what = f"data source '{tag}'" if key == "source" else f"{loc[-1] if loc else ''} type '{tag}'"
    if loc and loc[0] == "model" and "layers" in loc:
        what, key = f"layer '{tag}'", ""
    if loc[:2] == ("preprocess", "augment"):
        what, key = f"augmentation '{tag}'", ""
    path = (*loc, key) if key else loc
    choices = ", ".join(expected)
    if loc and loc[0] == "model":  # any torchvision classification model is a model type too
        hint = suggest(tag, [*expected, *torchvision_models()])
        return (
            f"unknown {what}{hint}; choose from: {choices}, or a torchvision model (resnet18 …)",
            path,
        )
    return f"unknown {what}{suggest(tag, expected)}; choose from: {choices}", path


def _message(error: Any, root: type[BaseModel], loc: Path_) -> tuple[str, Path_]:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        allowed = sorted(
            {name for m in models_at(root, error["loc"][:-1]) for name in m.model_fields}
            - {loc[-1]}  # a key of another member of the union is no suggestion
        )
        return f"unknown key '{loc[-1]}'{suggest(str(loc[-1]), allowed)}", loc
    if kind == "missing":
        return f"missing required key '{loc[-1]}'", loc
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _unknown_member(kind, ctx, value, loc)
    if kind == "literal_error":
        expected = [
            e.strip().strip("'")
            for e in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")
        ]
        return (
            f"expected one of {', '.join(expected)}, got {_got(value)}{suggest(str(value), expected)}",
            loc,
        )
    if kind.endswith(("_type", "_parsing")) and kind.split("_")[0] in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind.split('_')[0]]}, got {_got(value)}", loc
    if kind == "finite_number":
        return f"expected a number (not nan or inf), got {_got(value)}", loc
    if kind == "model_attributes_type" or kind == "model_type":
        return f"expected a mapping of keys to values, got {_got(value)}", loc
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", error["msg"])), loc
    message = error["msg"]
    message = message[0].lower() + message[1:] if message else message
    message = message.replace("input should", "must").replace("Input should", "must")
    return f"{message}, got {_got(value)}", loc


def to_problems(
    exc: ValidationError, data: Any, positions: Positions, root: type[BaseModel]
) -> list[Problem]:
    problems: list[Problem] = []
    for error, loc in _one_member_each(exc.errors(include_url=False), data, root):
        message, key_path = _message(error, root, loc)
        problems.append(Problem(message, key=dotted(key_path), where=positions.nearest(key_path)))
    return sorted(set(problems), key=problem_order)


def _kind_of_member(name: str) -> str:
    """What a union member pydantic names takes: 'ThresholdSearch' a mapping, 'list[int]' a list."""
    if name[:1].isupper() and name.isidentifier():
        return "mapping"
    return "list" if name.startswith(("list[", "tuple[")) else "scalar"


def _kind_of_value(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def _one_member_each(
    errors: list[Any], data: Any, root: type[BaseModel]
) -> list[tuple[Any, Path_]]:
    """Errors with their data paths. Where a plain union (`0.5 | {optimize: f1}`) failed in every
    member, only the members that take the kind of value given are kept: a mapping is not told
    that it should be a number."""
    walked = [(e, *_walk(data, tuple(e["loc"]), root, e["type"] == "missing")) for e in errors]
    members: dict[Path_, set[str]] = {}
    for _, _, branch in walked:
        if branch is not None:
            members.setdefault(branch[0], set()).add(branch[1])
    kept = []
    for error, path, branch in walked:
        if branch is not None and len(members[branch[0]]) > 1:
            given = _kind_of_value(_value_at(data, branch[0]))
            fitting = {m for m in members[branch[0]] if _kind_of_member(m) == given}
            if fitting and branch[1] not in fitting:
                continue
        kept.append((error, path))
    return kept


def _value_at(data: Any, path: Path_) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def problem_order(problem: Problem) -> tuple[int, int, str]:
    """File problems by line and column; override problems after them."""
    where = problem.where
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1]), int(parts[2]), where
    return 1 << 30, 0, where
