"""The error vocabulary: errors that services raise (interfaces turn them into HTTP responses or
messages), and ``FieldError``, the one shape of "this field is wrong, and why"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError


class ServiceError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, detail: Any = None):
        super().__init__(message)
        self.message = message
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["errors"] = _plain(self.detail)
        return body


class InvalidInput(ServiceError):
    status_code = 400
    code = "invalid"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class ImportFailed(InvalidInput):
    """Nothing was imported; ``detail`` lists every bad line with its field errors."""

    code = "import_failed"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class SchemaError(Exception):
    """A value does not fit a schema; ``errors`` name each field and reason."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    def as_list(self) -> list[dict[str, str]]:
        return [error.as_dict() for error in self.errors]


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        name = f"{prefix}{location}" if location else (prefix.rstrip(".") or "(row)")
        errors.append(FieldError(field=name, message=error["msg"]))
    return errors


def validate_model(schema: type[BaseModel], data: Any, *, prefix: str = "") -> BaseModel:
    from core.limits import unstorable_text  # core.limits builds on this module's errors

    if unstorable := unstorable_text(data, prefix=prefix):
        raise SchemaError(unstorable)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise SchemaError(field_errors(exc, prefix=prefix)) from None


def _plain(detail: Any) -> Any:
    """``detail`` with every ``FieldError`` in it (at any depth of lists and dicts) as its dict."""
    if isinstance(detail, FieldError):
        return detail.as_dict()
    if isinstance(detail, list | tuple):
        return [_plain(part) for part in detail]
    if isinstance(detail, dict):
        return {key: _plain(value) for key, value in detail.items()}
    return detail
