"""Who acts: a staff user, a partner client, or the system — never `None` by accident.

Every service takes `actor` keyword-only. A staff user is a `staff.User`; a partner
system acting through the open APIs is a `PartnerActor` (its client); work nobody asked
for in person (the SLA sweep, demo seeding, imports, management commands, automatic
escalations) is a `SystemActor` naming the job. `None` is refused (`require_actor`), so a
forgotten actor fails loudly instead of silently skipping every check.

The audit log records each actor's kind and reference (`actor_of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

STAFF = "staff"
PARTNER = "partner"
SYSTEM_KIND = "system"

KIND_CHOICES = [
    (STAFF, _("staff")),
    (PARTNER, _("partner")),
    (SYSTEM_KIND, _("system")),
]


@dataclass(frozen=True)
class SystemActor:
    """The platform itself, doing `job` (e.g. "sla_sweep", "demo", "import")."""

    job: str = "system"

    kind = SYSTEM_KIND
    is_authenticated = False
    is_active = False
    pk = None

    @property
    def ref(self) -> str:
        return self.job

    def __str__(self) -> str:
        return f"system:{self.job}"


@dataclass(frozen=True)
class PartnerActor:
    """A partner system acting through the open APIs (its `partners.PartnerClient`).

    It holds the capabilities of `PARTNER_CAPABILITIES` only, and takes on a case only the
    steps `tickets.rules.PARTNER_STEPS` allows (on its own cases: the partner API finds
    only those)."""

    client: Any

    kind = PARTNER
    is_authenticated = False
    is_active = False
    pk = None

    @property
    def ref(self) -> str:
        return str(getattr(self.client, "name", self.client))

    def __str__(self) -> str:
        return f"partner:{self.ref}"


# What a partner client may do besides its case steps (partners create cases, and
# the provincial platform applies for new connections).
PARTNER_CAPABILITIES = frozenset({"tickets.create", "connections.apply"})

SYSTEM = SystemActor()


def system(job: str) -> SystemActor:
    """The system doing `job` (recorded in the audit log as its reference)."""
    return SystemActor(job)


def is_system(actor: Any) -> bool:
    return isinstance(actor, SystemActor)


def is_partner(actor: Any) -> bool:
    return isinstance(actor, PartnerActor)


def require_actor(actor: Any) -> Any:
    """`actor` itself; raises TypeError for `None` (pass SYSTEM or a partner explicitly)."""
    if actor is None:
        raise TypeError(
            "actor is required: a staff user, a PartnerActor or a SystemActor "
            "(qingquan.core.actors.SYSTEM / system(job)), never None"
        )
    if isinstance(actor, SystemActor | PartnerActor):
        return actor
    if not hasattr(actor, "is_authenticated"):
        raise TypeError(f"not an actor: {actor!r}")
    return actor


def actor_of(actor: Any) -> tuple[str, str]:
    """(kind, reference) of `actor` for the audit log: ("staff", username) and so on."""
    actor = require_actor(actor)
    if isinstance(actor, SystemActor | PartnerActor):
        return actor.kind, actor.ref
    return STAFF, actor.get_username() if getattr(actor, "is_authenticated", False) else ""


def user_of(actor: Any) -> Any:
    """The staff user behind `actor` (for "who did it" foreign keys), None for the system
    or a partner client."""
    actor = require_actor(actor)
    if isinstance(actor, SystemActor | PartnerActor):
        return None
    return actor


# How the system's jobs are named in the audit log ("系统（SLA 巡检）").
JOB_LABELS: dict[str, Any] = {
    "system": _("general"),
    "seed": _("reference data"),
    "demo": _("demo data"),
    "import": _("data import"),
    "cli": _("command line"),
    "manage": _("management command"),
    "sla_sweep": _("SLA sweep"),
    "telephony": _("phone system events"),
    "survey": _("public survey"),
    "callback_policy": _("callback policy"),
    "callbacks": _("callback scheduling"),
    "report_mail": _("report mail"),
    "knowledge_seed": _("knowledge base seed"),
    "access_matrix": _("access matrix"),
    "case_merge": _("merged case"),
    "dispatch": _("repair dispatch"),
    "messaging": _("outbound messages"),
}


def describe(kind: str, ref: str, label: str = "") -> str:
    """How an actor is named to a reader: the staff member's name, "合作方 X", "系统（…）"."""
    from django.utils.translation import gettext

    if kind == PARTNER:
        return gettext("Partner %(name)s") % {"name": ref or label}
    if kind == SYSTEM_KIND:
        if not ref or ref == "system":
            return gettext("The system")
        return gettext("The system (%(job)s)") % {"job": JOB_LABELS.get(ref, ref)}
    return label or ref


# Seeders' default actor (reference data: areas, the calendar, generated customers).
SEED = SystemActor("seed")
