"""Personal data as each role may see it: the one function that shows a customer's phone
number, e-mail address, ID number or name anywhere in the platform (`shown`), and the log of
who was shown a full one (`Disclosure`).

Pages (the `{% shown %}` tag), admin screens (`PersonalFieldsAdmin`), the staff API,
exports, PDFs and websocket pushes all call `shown`; nothing else masks or unmasks. A role
sees a kind of value in full when it holds the capability in `RIGHTS`, else masked
(138****5678, z***@example.com, 3302************34, 张**). Each full phone number, e-mail
address or ID number shown is recorded once per request (who, which record, when, where)
and written in one statement when the request ends (`DisclosureMiddleware`); outside a
request (a push, a task, a command) it is written at once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse

from qingquan.core import clock
from qingquan.customers import phones
from qingquan.customers.models import Disclosure, PersonalKind
from qingquan.staff.access import can

Kind = PersonalKind

# Who sees each kind in full. Names: everyone who may look customers up (crews see the
# caller's surname only); numbers, e-mail addresses and ID numbers: the full-number right.
RIGHTS: dict[str, str] = {
    Kind.PHONE: "customers.view_phone_full",
    Kind.EMAIL: "customers.view_phone_full",
    Kind.ID_NUMBER: "customers.view_phone_full",
    Kind.NAME: "customers.view",
}
# Kinds whose full display is recorded (a name on every case list would drown the log).
LOGGED = frozenset({Kind.PHONE, Kind.EMAIL, Kind.ID_NUMBER})

_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+)$")
_PHONE_TEXT = re.compile(r"^\+?[\d\s\-().\u3000]{5,}$")


# Masking ----------------------------------------------------------------------------------
def mask(value: str, kind: str = Kind.PHONE) -> str:
    """`value` as a role without the right sees it. A phone field may hold an e-mail
    address or another handle (a contact's "from"): each is masked as what it is."""
    value = value or ""
    if not value:
        return ""
    if kind == Kind.NAME:
        return value[:1] + "*" * max(len(value) - 1, 1)
    if kind == Kind.ID_NUMBER:
        keep = 4 if len(value) > 8 else 1
        return value[:keep] + "*" * max(len(value) - keep - 2, 1) + value[-2:]
    match = _EMAIL.match(value.strip())
    if match:
        local, domain = match.groups()
        return f"{local[:1]}***@{domain}"
    if kind == Kind.PHONE and _PHONE_TEXT.match(value.strip()):
        normal = phones.try_normalise(value)
        digits = normal[1] if normal else re.sub(r"\D", "", value)
        return phones.mask(digits)
    # Any other handle (a WeChat id, a malformed number): first and last character only.
    text = value.strip()
    return text[:1] + "*" * max(len(text) - 2, 1) + (text[-1:] if len(text) > 2 else "")


def may_see(user: Any, kind: str) -> bool:
    """True when `user`'s role sees values of `kind` in full."""
    return can(user, RIGHTS[kind])


# The one way to show personal data ---------------------------------------------------------
def shown(value: str | None, *, user: Any, kind: str = Kind.PHONE, of: Any = None) -> str:
    """`value` as `user` may see it: in full with the right for `kind` (recorded as a
    disclosure of the record `of`: a model instance or a (label, pk) pair), else masked."""
    value = value or ""
    if not value:
        return ""
    if kind == Kind.PHONE:
        value = _national(value)
    if not may_see(user, kind):
        return mask(value, kind)
    if kind in LOGGED:
        _disclose(user, kind, value, of)
    return value


def _national(value: str) -> str:
    """A number stored in E.164 (cases hold callers' numbers so since the input rules) in
    the national form people read (13800138000); any other text as it is."""
    if not value.startswith("+") or not value[1:].isdigit():
        return value
    normal = phones.try_normalise(value)
    return normal[1] if normal else value


# The disclosure log -----------------------------------------------------------------------
@dataclass
class _Request:
    request: HttpRequest
    where: str
    pending: dict[tuple[str, str, str, str], Disclosure] = field(default_factory=dict)

    @property
    def user(self) -> Any:
        # request.user stays lazy: most requests never show a full number.
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_current: ContextVar[_Request | None] = ContextVar("qingquan_privacy_request", default=None)


def _reference(of: Any) -> tuple[str, str]:
    if of is None:
        return "", ""
    if isinstance(of, models.Model):
        return of._meta.label_lower, str(of.pk)
    label, pk = of
    return str(label), str(pk)


def _disclose(user: Any, kind: str, value: str, of: Any) -> None:
    object_type, object_id = _reference(of)
    masked = mask(value, kind)[:120]
    context = _current.get()
    row = Disclosure(
        at=clock.now(),
        user_id=user.pk,
        kind=kind,
        masked=masked,
        object_type=object_type,
        object_id=object_id[:40],
        where=(_where.get() or (context.where if context else "") or "—")[:200],
    )
    reader = context.user if context is not None else None
    if context is None or reader is None or reader.pk != user.pk:
        row.save()
        return
    context.pending.setdefault((kind, masked, object_type, object_id), row)


_where: ContextVar[str] = ContextVar("qingquan_privacy_where", default="")


@contextlib.contextmanager
def disclosed_at(where: str) -> Iterator[None]:
    """Name the place of disclosures made outside a page (a websocket push, an export task):
    "push: screen pop"."""
    token = _where.set(where)
    try:
        yield
    finally:
        _where.reset(token)


def current_user() -> Any:
    """The user of the request being answered (admin display methods have no request)."""
    context = _current.get()
    return context.user if context else None


def flush() -> int:
    """Write the disclosures of the current request; returns how many."""
    context = _current.get()
    if context is None or not context.pending:
        return 0
    rows = list(context.pending.values())
    context.pending.clear()
    Disclosure.objects.bulk_create(rows)
    return len(rows)


class DisclosureMiddleware:
    """Collects the request's disclosures and writes them once the response is rendered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(_Request(request=request, where=f"{request.method} {request.path}"))
        try:
            response = self.get_response(request)
            flush()
            return response
        finally:
            _current.reset(token)


# The audit log's snapshots ------------------------------------------------------------------
# Snapshot keys holding personal data, by kind ("name" only on customers' own records).
SNAPSHOT_KEYS: dict[str, str] = {
    "number": Kind.PHONE,
    "national_digits": Kind.PHONE,
    "phone": Kind.PHONE,
    "phones": Kind.PHONE,
    "caller_phone": Kind.PHONE,
    "from_address": Kind.PHONE,
    "from": Kind.PHONE,
    "from_number": Kind.PHONE,
    "email": Kind.EMAIL,
    "submitter_email": Kind.EMAIL,
    "id_number": Kind.ID_NUMBER,
    "caller_name": Kind.NAME,
    "recipient": Kind.NAME,
    "payer_name": Kind.NAME,
}
_NAMED_RECORDS = {"customers.customer", "customers.invoice"}
# Records whose snapshots hold a phone under "number" (elsewhere a case, account or invoice).
_PHONE_RECORDS = {"customers.customer", "customers.customerphone"}


def audit_snapshot_shown(event: Any, values: Any, user: Any) -> Any:
    """An audit event's before/after with its personal values through `shown`."""
    if not isinstance(values, dict):
        return values
    record = (event.object_type, event.object_id)
    result = {}
    for key, value in values.items():
        kind = SNAPSHOT_KEYS.get(key)
        if key == "name" and event.object_type in _NAMED_RECORDS:
            kind = Kind.NAME
        if key == "number" and event.object_type not in _PHONE_RECORDS:
            kind = None  # case, account and invoice numbers are no personal data
        if kind is not None and isinstance(value, str):
            value = shown(value, user=user, kind=kind, of=record)
        elif kind is not None and isinstance(value, list):
            value = [
                shown(v, user=user, kind=kind, of=record) if isinstance(v, str) else v
                for v in value
            ]
        result[key] = value
    return result


# Admin screens ----------------------------------------------------------------------------
class PersonalFieldsAdmin:
    """Model admin (or inline) mixin: the fields named in `personal_fields` are shown
    through `shown` in lists, change pages and history. A role without the right sees them
    masked and read-only; a role with it but only viewing sees them read-only in full
    (recorded); a role that may edit them gets the form field, and the showing is recorded."""

    personal_fields: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, kind in cls.personal_fields.items():
            setattr(cls, f"shown_{name}", _display(name, kind))
        # A subclass's own get_fields / get_readonly_fields are masked the same way.
        own = cls.__dict__
        if "get_fields" in own:
            cls.get_fields = _wrapped(own["get_fields"], "_masked_fields")  # type: ignore[method-assign]
        if "get_readonly_fields" in own:
            cls.get_readonly_fields = _wrapped(own["get_readonly_fields"], "_masked_readonly")  # type: ignore[method-assign]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The column heads: the fields' own names (the model is known only now).
        for name in self.personal_fields:
            with contextlib.suppress(Exception):
                label = self.model._meta.get_field(name).verbose_name  # type: ignore[attr-defined]
                getattr(type(self), f"shown_{name}").short_description = label

    def _edits_in_full(self, request: HttpRequest, name: str, obj: Any) -> bool:
        kind = self.personal_fields[name]
        return may_see(request.user, kind) and self.has_change_permission(request, obj)  # type: ignore[attr-defined]

    def get_list_display(self, request: HttpRequest) -> Any:
        names = super().get_list_display(request)  # type: ignore[misc]
        return [f"shown_{n}" if n in self.personal_fields else n for n in names]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self._masked_fields(request, obj, super().get_fields(request, obj))  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        names = super().get_readonly_fields(request, obj)  # type: ignore[misc]
        return self._masked_readonly(request, obj, names)

    def _masked_fields(self, request: HttpRequest, obj: Any, names: Any) -> list[Any]:
        return [
            f"shown_{n}"
            if n in self.personal_fields and not self._edits_in_full(request, n, obj)
            else n
            for n in names
        ]

    def _masked_readonly(self, request: HttpRequest, obj: Any, names: Any) -> list[Any]:
        masked = {n for n in self.personal_fields if not self._edits_in_full(request, n, obj)}
        kept = [n for n in names if n not in masked]
        return kept + [f"shown_{n}" for n in masked if f"shown_{n}" not in kept]

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        obj = kwargs.get("obj")
        if obj is not None:
            for name, kind in self.personal_fields.items():
                if self._edits_in_full(request, name, obj):
                    shown(getattr(obj, name, ""), user=request.user, kind=kind, of=obj)
        return super().render_change_form(request, context, *args, **kwargs)  # type: ignore[misc]


def _wrapped(method: Callable[..., Any], mapper: str) -> Callable[..., Any]:
    def wrapper(self: Any, request: HttpRequest, obj: Any = None) -> Any:
        return getattr(self, mapper)(request, obj, method(self, request, obj))

    wrapper.__name__ = method.__name__
    return wrapper


def _display(name: str, kind: str) -> Any:
    @admin.display(description=name, ordering=name)
    def display(self: Any, obj: Any) -> str:
        return shown(getattr(obj, name, ""), user=current_user(), kind=kind, of=obj)

    display.__name__ = f"shown_{name}"
    return display
