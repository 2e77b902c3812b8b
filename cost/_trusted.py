"""Build pydantic models from values this package constructed itself, without re-validation.

``BaseModel.model_construct`` walks every field in Python (aliases, defaults) and dominates the
estimator's hot path at 10,000 resources. For models whose every field we pass explicitly, the
instance state is just ``__dict__`` plus the fields-set: this does what ``model_construct`` does at
its end (pydantic 2.x), and ``tests/cost/test_trusted.py`` checks the result equals a validated
model, so a pydantic change that breaks the assumption fails a test, not a report.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_FIELDS: dict[type[BaseModel], tuple[str, ...]] = {}


def trusted(cls: type[M], values: dict[str, Any], *, in_order: bool = False) -> M:
    """An instance of ``cls`` holding ``values`` (every field, already of the right type).

    Serialisation follows the instance dict's order, so it is rebuilt in field order unless the
    caller built it from :func:`template` (``in_order=True``: every field, in order).
    """
    names = _FIELDS.get(cls)
    if names is None:
        check_trustable(cls)
        names = _FIELDS[cls] = tuple(cls.model_fields)
    ordered = values if in_order else {name: values[name] for name in names}
    model = cls.__new__(cls)
    _set(model, "__dict__", ordered)
    _set(model, "__pydantic_fields_set__", set(names))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


def template(cls: type[BaseModel]) -> dict[str, Any]:
    """Every field of ``cls`` in order, set to ``None``: ``{**template, **values}`` keeps the order."""
    check_trustable(cls)
    return dict.fromkeys(cls.model_fields)


def check_trustable(cls: type[BaseModel]) -> None:
    """Refuse models the shortcut would get wrong (aliases, post-init, private attributes)."""
    if cls.__pydantic_post_init__ or cls.__private_attributes__:
        raise TypeError(f"{cls.__name__}: post-init or private attributes")
    for name, field in cls.model_fields.items():
        if field.alias not in (None, name) or field.validation_alias is not None:
            raise TypeError(f"{cls.__name__}.{name}: aliased field")
