"""One message body -> one ``Change``, or a ``DecodeError`` that names the JSON
path and the rule it broke, never the value (a body may carry personal data).

The same decisions as the Rust kit's ``decode`` (crates/cc-number-change/src/decode.rs):

- unknown fields are ignored (v1 may gain optional fields);
- a key whose value may be null may also be absent (serde reads an absent
  ``Option`` as ``None``), though the relay always writes every key;
- a ``schemaVersion`` above 1 is ``newer-schema`` (checked only when the body
  does not read as v1: a later version may have changed any other field);
- ``occurredAt`` must be RFC 3339 (the schema says only "a string"), read to
  the nanosecond;
- when several things are wrong, the one reported is the one serde meets
  first: fields in the order they appear in the body, a missing field after
  the fields of its object.

Pydantic's own messages quote the input, so they never leave this module:
each error is mapped to a kind, a path in the Rust kit's notation
(``$.phoneNumber.e164``) and a rule.
"""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass
from typing import Any, Literal

import pydantic

from . import timestamps
from .models import Change, ContactCenterProvider, PhoneNumber

SCHEMA_VERSION = 1

Kind = Literal["invalid-json", "newer-schema", "invalid-field"]

# The rules of the Rust kit's newtypes (types.rs), by path: pydantic's
# pattern and length errors on these fields become these.
_FIELD_RULES = {
    "$.notificationId": "must be 1 to 128 visible ASCII characters",
    "$.occurredAt": "must be an RFC 3339 timestamp",
    "$.accountId": "must be 1 to 32 digits",
    "$.phoneNumber.id": "must be 1 to 128 visible ASCII characters",
    "$.phoneNumber.e164": "must be E.164: '+' then 1 to 15 digits, the first not 0",
}
_LITERAL_RULES = {
    "$.schemaVersion": "must be 1",
    "$.changeType": "must be one of `Created`, `Updated`, `Deleted`",
}
_TYPE_RULES = {
    "missing": "is required",
    "string_type": "must be a string",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
}


class DecodeError(ValueError):
    """Why a body is not a v1 change: a kind, the JSON path (``None`` for
    ``invalid-json``) and the rule. Its text never contains the value."""

    def __init__(self, kind: Kind, path: str | None, rule: str):
        self.kind: Kind = kind
        self.path = path
        self.rule = rule
        super().__init__(f"{path}: {rule}" if path else rule)


@dataclass(frozen=True)
class _Candidate:
    """One thing wrong with the body, and where serde would meet it."""

    order: tuple
    path: str
    rule: str


class _Object(dict):
    """A JSON object that remembers its keys' positions and its repeated keys."""

    positions: dict[str, int]
    repeated: dict[str, int]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.positions, obj.repeated = {}, {}
    for index, (key, value) in enumerate(pairs):
        if key in obj.positions:
            obj.repeated.setdefault(key, index)
        else:
            obj.positions[key] = index
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    """serde_json refuses a lone surrogate escape (``"\\ud800"``); Python keeps it."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for k, v in value.items():
            k.encode("utf-8")
            _check_strings(v)
    elif isinstance(value, list):
        for v in value:
            _check_strings(v)


def parse_json(body: str | bytes) -> Any:
    """JSON as serde_json reads it, or ``DecodeError('invalid-json')``."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_refuse_constant)
        _check_strings(value)
    except UnicodeError:
        raise DecodeError("invalid-json", None, "not valid JSON: not UTF-8, or a lone surrogate") from None
    except RecursionError:
        raise DecodeError("invalid-json", None, "not valid JSON: nested too deeply") from None
    except ValueError as e:
        # json's messages name a position, never the text ("Expecting value: line 1 column 1 (char 0)").
        message = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        raise DecodeError("invalid-json", None, f"not valid JSON: {message}") from None
    return value


def decode(body: str | bytes) -> Change:
    """Decodes a v1 change from a message body (text or UTF-8 bytes)."""
    return decode_value(parse_json(body))


def decode_value(data: Any) -> Change:
    """Decodes a v1 change from parsed JSON (as ``parse_json`` returns it)."""
    if isinstance(data, dict):
        _fill_absent_nullables(data, Change)
    candidates: list[_Candidate] = []
    change = None
    try:
        change = Change.model_validate(data, strict=True)
    except pydantic.ValidationError as e:
        candidates.extend(_candidate(data, err) for err in e.errors(include_input=False, include_url=False))
    if isinstance(data, dict):
        candidates.extend(_own_checks(data))
    if not candidates:
        assert change is not None
        return change
    version = data.get("schemaVersion") if isinstance(data, dict) else None
    if type(version) is int and SCHEMA_VERSION < version < 2**64:
        # No path, as in the Rust kit's NewerSchema (the golden manifest's
        # rule): the whole body is of another version, not one field wrong.
        raise DecodeError(
            "newer-schema",
            None,
            f"$.schemaVersion: {version} is newer than this package reads ({SCHEMA_VERSION}); upgrade cc-number-change",
        )
    first = min(candidates, key=lambda c: c.order)
    raise DecodeError("invalid-field", first.path, first.rule)


def _model_of(annotation: Any) -> type[pydantic.BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, pydantic.BaseModel):
            return arg
    return None


def _nullable(annotation: Any) -> bool:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _nullable(args[0])
    return annotation is None or type(None) in args


def _fill_absent_nullables(data: dict, model: type[pydantic.BaseModel]) -> None:
    """An absent key whose value may be null reads as null, as serde reads an absent ``Option``."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            if _nullable(field.annotation):
                data[key] = None
        elif isinstance(data[key], dict) and (inner := _model_of(field.annotation)) is not None:
            _fill_absent_nullables(data[key], inner)


def _path(loc: tuple) -> str:
    return "$" + "".join(f".{part}" for part in loc if isinstance(part, str))


def _order(data: Any, loc: tuple, model: type[pydantic.BaseModel] | None = Change) -> tuple:
    """Where serde meets ``loc``: fields by their position in the body; a
    missing field after every present field of its object, in declaration order."""
    order: list[tuple[int, int]] = []
    for part in loc:
        if not isinstance(part, str):
            continue
        fields = list(model.model_fields) if model is not None else []
        if isinstance(data, _Object) and part in data.positions:
            order.append((0, data.positions[part]))
            data = data[part]
        else:
            order.append((1, fields.index(part) if part in fields else len(fields)))
            data = None
        if model is not None and part in model.model_fields:
            model = _model_of(model.model_fields[part].annotation)
        else:
            model = None
    return tuple(order)


def _candidate(data: Any, err: Any) -> _Candidate:
    loc = tuple(err["loc"])
    path = _path(loc)
    kind = err["type"]
    if kind == "literal_error" and path in _LITERAL_RULES:
        rule = _LITERAL_RULES[path]
    elif kind in ("string_pattern_mismatch", "string_too_short", "string_too_long") and path in _FIELD_RULES:
        rule = _FIELD_RULES[path]
    elif kind in _TYPE_RULES:
        rule = _TYPE_RULES[kind]
    else:
        rule = f"is invalid ({kind})"
    return _Candidate(order=_order(data, loc), path=path, rule=rule)


_OBJECTS: dict[tuple[str, ...], type[pydantic.BaseModel]] = {
    (): Change,
    ("phoneNumber",): PhoneNumber,
    ("contactCenterProvider",): ContactCenterProvider,
}


def _own_checks(data: dict) -> list[_Candidate]:
    """What the Rust kit refuses and the generated model lets through."""
    found: list[_Candidate] = []
    # schemaVersion is a u64 in Rust: true and 1.0 are not 1.
    version = data.get("schemaVersion", 1)
    if type(version) is not int and version == 1:
        found.append(_Candidate(_order(data, ("schemaVersion",)), "$.schemaVersion", "must be 1"))
    # The instant that orders changes: RFC 3339, to the nanosecond.
    occurred = data.get("occurredAt")
    if isinstance(occurred, str) and occurred:
        try:
            timestamps.nanos(occurred)
        except timestamps.InvalidTimestamp as e:
            found.append(_Candidate(_order(data, ("occurredAt",)), "$.occurredAt", str(e)))
    # serde refuses a known field given twice (JSON text keeps both; Python the last).
    for loc, model in _OBJECTS.items():
        obj: Any = data
        for part in loc:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if not isinstance(obj, _Object):
            continue
        fields = {f.alias or n for n, f in model.model_fields.items()}
        for key, index in obj.repeated.items():
            if key in fields:
                order = _order(data, loc) + ((0, index),)
                found.append(_Candidate(order, _path(loc), f"duplicate field `{key}`"))
    return found


def occurred_at_nanos(change: Change) -> int:
    """``occurredAt`` as nanoseconds since the epoch: the instant that orders changes."""
    return timestamps.nanos(change.occurredAt)


CONTACT_CENTER_USAGE = "ContactCenterNumber"


def leaves_contact_center_number(change: Change) -> bool:
    """Whether, after this change, the number is a Contact Center number: not
    deleted, and its usage, when the change names one, is ``ContactCenterNumber``."""
    usage = change.phoneNumber.usageType
    return change.changeType != "Deleted" and (usage is None or usage == CONTACT_CENTER_USAGE)


__all__ = [
    "CONTACT_CENTER_USAGE",
    "DecodeError",
    "decode",
    "decode_value",
    "leaves_contact_center_number",
    "occurred_at_nanos",
    "parse_json",
]
