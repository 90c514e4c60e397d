"""The one error family: every refusal carries a stable code, a human detail and, where it applies, a field."""

from __future__ import annotations


class FridayError(Exception):
    """A refusal the user can act on. `code` is stable (API clients match on it); `field` is a path."""

    code = "error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None, extra=None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.field = field
        self.extra = extra

    def as_dict(self) -> dict:
        body = {"code": self.code, "detail": self.detail, "field": self.field}
        if self.extra is not None:
            body["extra"] = self.extra
        return body


class ValidationFailed(FridayError):
    """One or more fields are invalid. `errors` lists each as a FridayError with its field."""

    code = "invalid"
    status = 422

    def __init__(self, errors: list[FridayError]):
        first = errors[0]
        super().__init__(first.detail, code=first.code, field=first.field)
        self.errors = errors

    def as_dict(self) -> dict:
        body = super().as_dict()
        body["errors"] = [{"code": e.code, "detail": e.detail, "field": e.field} for e in self.errors]
        return body


class NotFound(FridayError):
    """The record does not exist — or the caller may not see it (both answer the same, on purpose)."""

    code = "not_found"
    status = 404


class PermissionDenied(FridayError):
    """The caller may see the record but not do this to it."""

    code = "permission_denied"
    status = 403


class Conflict(FridayError):
    code = "conflict"
    status = 409


class Collector:
    """Gathers field errors so a form or API call reports all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FridayError] = []

    def add(self, field: str, detail: str, code: str = "invalid") -> None:
        self.errors.append(FridayError(detail, code=code, field=field))

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
