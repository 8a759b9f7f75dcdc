"""Strict typed decoding for stripe-python: the SDK builds its objects from whatever JSON it gets
(its annotations are for type checkers only), so the suite checks every answer and every
webhook event at run time against the annotations of stripe-python's own classes (``Charge``,
``Checkout.Session``, their nested classes, ``ErrorObject`` …).

stripe-python says less than stripe-node's types: ``Optional[T]`` covers both "may be null" and
"may be absent". So a field annotated without ``Optional`` must be present and not null, a field
the class does not annotate is unknown, a ``Literal`` must hold one of its values, and every
value must have the annotated JSON type."""

from __future__ import annotations

import inspect
import re
import sys
import typing
from functools import lru_cache
from typing import Any, ForwardRef, Union

import stripe
from stripe._list_object import ListObject
from stripe._object_classes import get_object_class
from stripe._stripe_object import StripeObject

try:
    from stripe._error_object import ErrorObject
except ImportError:  # pragma: no cover - older layouts
    ErrorObject = None  # type: ignore[assignment]

_TYPE_CHECKING_IMPORT = re.compile(r"^\s+from (\S+) import (\w+)(?: as (\w+))?\s*$")


@lru_cache(maxsize=None)
def _namespace(module_name: str) -> dict:
    """The names a module's annotations use, including those it imports only for type checkers."""
    module = sys.modules[module_name]
    names = dict(vars(stripe))
    names.update(vars(module))
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return names
    inside = False
    for line in source.splitlines():
        if line.startswith("if TYPE_CHECKING:"):
            inside = True
            continue
        if inside and line and not line[0].isspace():
            inside = False
        match = _TYPE_CHECKING_IMPORT.match(line) if inside else None
        if match:
            origin, name, alias = match.groups()
            try:
                names[alias or name] = getattr(__import__(origin, fromlist=[name]), name)
            except (ImportError, AttributeError):
                pass
    return names


@lru_cache(maxsize=None)
def _fields(cls: type) -> dict:
    """The JSON fields of a class: its annotations, resolved, without class variables."""
    try:
        hints = typing.get_type_hints(cls, globalns=_namespace(cls.__module__), localns=dict(vars(cls)))
    except Exception:  # noqa: BLE001 - an annotation we cannot resolve is not checked
        hints = {}
        for klass in reversed(cls.__mro__):
            hints.update(getattr(klass, "__annotations__", {}))
    return {
        name: hint
        for name, hint in hints.items()
        if not name.startswith("_") and typing.get_origin(hint) is not typing.ClassVar
    }


def _optional(hint: Any) -> tuple[bool, Any]:
    """Whether a hint admits None, and the hint without it."""
    if typing.get_origin(hint) is Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) < len(typing.get_args(hint)):
            return True, args[0] if len(args) == 1 else Union[tuple(args)]  # type: ignore[return-value]
    return False, hint


def _object_literal(cls: Any) -> str | None:
    name = getattr(cls, "OBJECT_NAME", None)
    return name if isinstance(name, str) else None


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def top(self, value: Any, where: str = "") -> None:
        if not isinstance(value, dict):
            self.add(where or "answer", f"not an object: {value!r}")
            return
        if set(value) == {"error"} and ErrorObject is not None:
            self.object(value["error"], ErrorObject, "error")
            return
        name = value.get("object")
        here = f"{where}({name})" if where else str(name)
        if name == "list":
            self.object(value, ListObject, here, skip={"data", "object"})
            for item in value.get("data") or []:
                self.top(item, f"{here}.data[]")
            return
        cls = get_object_class("V1", name) if isinstance(name, str) else StripeObject
        if cls is StripeObject:
            self.add(here, f"`{name}` is not an object stripe-python knows")
            return
        # A deleted object (`{"id", "object", "deleted": true}`) shares its class, which marks
        # only `deleted` Optional: only the fields it has are checked.
        self.object(value, cls, here, partial=value.get("deleted") is True)

    def object(self, value: Any, cls: type, where: str, skip: set[str] = frozenset(),
               partial: bool = False) -> None:
        if not isinstance(value, dict):
            self.add(where, f"expected an object ({cls.__qualname__}), got {value!r}")
            return
        fields = _fields(cls)
        if not fields:
            return
        for key in value:
            if key not in fields and key not in skip:
                self.add(f"{where}.{key}", "a field the class does not annotate")
        for name, hint in fields.items():
            if name in skip:
                continue
            optional, inner = _optional(hint)
            at = f"{where}.{name}"
            if name not in value:
                if not optional and not partial:
                    self.add(at, "missing, but not Optional")
            elif value[name] is None:
                if not optional:
                    self.add(at, "null, but not Optional")
            elif cls.__qualname__ == "Event.Data" and name == "object":
                self.top(value[name], at)
            else:
                self.shape(value[name], inner, at)

    def shape(self, value: Any, hint: Any, where: str) -> None:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is Any or isinstance(hint, (ForwardRef, str, typing.TypeVar)):
            return
        if origin is typing.Literal:
            if value not in args:
                self.add(where, f"`{value}` is not a value the class lists {list(args)}")
            return
        if origin is Union:
            self.union(value, args, where)
            return
        if origin in (list, typing.List):
            if not isinstance(value, list):
                self.add(where, "expected an array")
                return
            for item in value:
                self.shape(item, args[0] if args else Any, f"{where}[]")
            return
        if origin in (dict, typing.Dict):
            if not isinstance(value, dict):
                self.add(where, "expected a map")
                return
            for key, item in value.items():
                self.shape(item, args[1] if len(args) == 2 else Any, f"{where}.{key}")
            return
        base = origin or hint
        if isinstance(base, type) and issubclass(base, ListObject):
            self.object(value, ListObject, where, skip={"data", "object"})
            for item in (value.get("data") or []) if isinstance(value, dict) else []:
                self.shape(item, args[0] if args else Any, f"{where}.data[]")
            return
        if isinstance(base, type) and issubclass(base, StripeObject):
            if _fields(base):
                self.object(value, base, where)
            return
        if base is bool:
            ok = isinstance(value, bool)
        elif base is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif base is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif base is str:
            ok = isinstance(value, str)
        else:
            ok = True
        if not ok:
            self.add(where, f"expected {getattr(base, '__name__', base)}, got {value!r}")

    def union(self, value: Any, members: tuple, where: str) -> None:
        if isinstance(value, dict):
            classes = [m for m in members if isinstance(m, type) and issubclass(m, StripeObject)]
            chosen = next((c for c in classes if _object_literal(c) == value.get("object")), None)
            chosen = chosen or (classes[0] if classes else None)
            if chosen is not None:
                self.shape(value, chosen, where)
            elif not any(isinstance(m, (ForwardRef, str)) or m is Any for m in members):
                self.add(where, "no member of the union takes an object")
            return
        if isinstance(value, str) and (str in members or any(typing.get_origin(m) is typing.Literal for m in members)):
            literals = [a for m in members if typing.get_origin(m) is typing.Literal for a in typing.get_args(m)]
            if str not in members and value not in literals:
                self.add(where, f"`{value}` is not a value the class lists")
            return
        for member in members:
            probe = Checker()
            probe.shape(value, member, where)
            if not probe.problems:
                return
        self.add(where, f"fits no member of {members}: {value!r}")


def problems(value: Any) -> list[str]:
    """Every way ``value`` (an answer or an event, as JSON) breaks stripe-python's classes."""
    checker = Checker()
    checker.top(value)
    return checker.problems
