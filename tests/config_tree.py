"""The stack-config tree as data: walk, read and edit it by key path, and ask the pydantic schema which
fields a mapping may hold (set or left at their default). Used by tests/mutations.py."""

import copy
from collections.abc import Callable, Iterator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from models.platform import PlatformConfig

KeyPath = tuple[Any, ...]


# --- walking the tree ---------------------------------------------------------------------------------------


def walk(tree: Any, prefix: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    yield prefix, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from walk(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from walk(v, prefix + (i,))


def points(tree: Any, keep: Callable[[KeyPath, Any], bool]) -> list[KeyPath]:
    return [p for p, v in walk(tree) if p and keep(p, v)]


def get(tree: Any, path: KeyPath) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def put(tree: Any, path: KeyPath, value: Any) -> None:
    get(tree, path[:-1])[path[-1]] = copy.deepcopy(value)  # drawn constants are shared between examples


def remove(tree: Any, path: KeyPath) -> None:
    del get(tree, path[:-1])[path[-1]]


def show(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) and not isinstance(part, bool) else ("." if out else "") + str(part)
    return out or "<root>"


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    for t, name in ((int, "int"), (float, "float"), (str, "str"), (list, "list"), (dict, "dict")):
        if isinstance(value, t):
            return name
    return type(value).__name__


def is_number(value: Any) -> bool:
    return kind(value) in ("int", "float")


# --- the schema: fields a mapping may hold, present or not ----------------------------------------------------


def unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation allows: Optional/Union/Annotated/list/dict peeled off."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return unwrap(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [t for a in get_args(annotation) if a is not type(None) for t in unwrap(a)]
    if origin in (list, dict):
        return unwrap(get_args(annotation)[-1])
    return [annotation]


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    models = [t for t in unwrap(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
    if len(models) > 1 and isinstance(node, dict):  # the models union: pick by engine
        models = [m for m in models if get_args(m.model_fields["engine"].annotation) == (node.get("engine"),)]
    return models[0] if len(models) == 1 else None


def _field(cls: type[BaseModel], key: Any) -> Any:
    for name, f in cls.model_fields.items():
        if key in (name, f.alias):
            return f
    return None


def _is_container(annotation: Any) -> bool:
    """A list or dict field (models, nodePools, pricing), possibly Optional."""
    while get_origin(annotation) in (Annotated, Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1 and get_origin(annotation) is not Annotated:
            return False
        annotation = args[0]
    return get_origin(annotation) in (list, dict)


def spec_at(tree: Any, path: KeyPath) -> type[BaseModel] | None:
    """The config block a mapping at `path` is parsed as (None when the path leaves the schema)."""
    cls: Any = PlatformConfig
    container, node = None, tree
    for part in path:
        node = node[part]
        if container is not None:  # an item of a list field, or a value of a dict field such as pricing
            cls, container = _model_of(container, node), None
            continue
        f = _field(cls, part) if cls is not None else None
        if f is None:
            return None
        if _is_container(f.annotation):
            cls, container = None, f.annotation
        else:
            cls = _model_of(f.annotation, node)
    return cls if container is None else None


def schema_points(tree: Any) -> list[tuple[KeyPath, list[Any]]]:
    """(path, allowed types) of every field of every mapping in the tree, whether the config sets it or not."""
    out = []
    for path, node in walk(tree):
        cls = spec_at(tree, path) if isinstance(node, dict) else None
        if cls is not None:
            out += [(path + (f.alias or name,), unwrap(f.annotation)) for name, f in cls.model_fields.items()]
    return out


def numeric_fields(tree: Any) -> list[KeyPath]:
    """Every int/float field the schema offers (set or defaulted), and every number the config holds."""
    fields = {p for p, types in schema_points(tree) if {int, float} & set(types)}
    return sorted(fields | set(points(tree, lambda p, v: is_number(v))), key=show)
