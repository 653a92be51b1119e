"""Who may do what: the one place where roles meet permissions.

Every view, API endpoint, service and admin screen asks `can(actor, capability)` (the
predicate) or `check(actor, capability)` / the `require` view decorator, which raise the
one error `core.access.AccessDenied`; nothing else in the code base compares roles. The
table is tested as a matrix in tests/test_access.py. Administrators are not Django
superusers: they hold exactly the capabilities listed here, like every other role.

Actors other than staff users (`core.actors`): the system holds every capability (what
it does is decided by code, not by a role; the per-case rules' states and conditions
still apply), a partner client only `core.actors.PARTNER_CAPABILITIES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from qingquan.core import actors
from qingquan.core.access import AccessDenied
from qingquan.staff.roles import Role

ALL_STAFF = frozenset(Role)
R = Role

CAPABILITIES: dict[str, frozenset[Role]] = {
    "home.view": ALL_STAFF,
    "profile.password": ALL_STAFF,
    # The roster: supervisors plan it, dispatchers need to know which crews are on.
    "roster.view": frozenset({R.SUPERVISOR, R.DISPATCHER, R.ADMINISTRATOR}),
    # The back-office admin screens (each model admin narrows this further).
    "admin.site": frozenset(
        {R.SUPERVISOR, R.DISPATCHER, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}
    ),
    "staff.view": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "staff.manage": frozenset({R.ADMINISTRATOR}),
    "roster.manage": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "areas.view": frozenset(
        {R.SUPERVISOR, R.DISPATCHER, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}
    ),
    "areas.manage": frozenset({R.ADMINISTRATOR}),
    "audit.view": frozenset({R.ADMINISTRATOR}),
    "calendar.manage": frozenset({R.ADMINISTRATOR}),
    "tasks.view": frozenset({R.ADMINISTRATOR}),
    # Customer registry and bills. Agents see callers' numbers masked: they call back
    # through the platform, never from a number on their screen.
    "customers.view": frozenset(
        {R.AGENT, R.SUPERVISOR, R.DISPATCHER, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}
    ),
    "customers.view_phone_full": frozenset(
        {R.SUPERVISOR, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}
    ),
    "customers.manage": frozenset({R.BACK_OFFICE, R.ADMINISTRATOR}),
    "billing.manage": frozenset({R.BACK_OFFICE, R.ADMINISTRATOR}),
    # Cases (工单). Agents take contacts and own the cases they open (首问责任制);
    # departments and crews work the cases handed to them; supervisors run the hotline.
    "tickets.view": ALL_STAFF,
    "tickets.create": frozenset(
        {R.AGENT, R.SUPERVISOR, R.DISPATCHER, R.BACK_OFFICE, R.CUSTOMER_MANAGER}
    ),
    # Hand a received case to a department or crew (dispatchers send repairs to crews).
    "tickets.dispatch": frozenset({R.AGENT, R.SUPERVISOR, R.DISPATCHER, R.CUSTOMER_MANAGER}),
    "tickets.work": frozenset(
        {R.SUPERVISOR, R.DISPATCHER, R.CREW, R.BACK_OFFICE, R.CUSTOMER_MANAGER}
    ),
    "tickets.supervise": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "tickets.change_owner": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "tickets.view_all": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # Open any case's page by its number (a hotline agent answering a repeat caller about
    # a case someone else owns); the steps offered there still follow the rules above.
    "tickets.look_up": frozenset({R.AGENT, R.SUPERVISOR, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}),
    "tickets.kpis": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # Who is told when a case nears or passes its deadline (besides its owner).
    "tickets.sla_alerts": frozenset({R.SUPERVISOR}),
    # Case kinds and time-limit policies (服务承诺) in the back office.
    "tickets.configure": frozenset({R.ADMINISTRATOR}),
    # Partner systems: API clients and their keys, webhooks, the delivery log.
    "partners.manage": frozenset({R.ADMINISTRATOR}),
    # The agent console (screen pop, fast intake, my cases) and the live wallboard.
    "console.use": frozenset({R.AGENT, R.SUPERVISOR}),
    "wallboard.view": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # The demo call simulator (演示工具) posts real call events as a phone system would.
    "telephony.simulate": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # The calls waiting in the queue (agents pick up, supervisors and the wallboard watch).
    "telephony.queue": frozenset({R.AGENT, R.SUPERVISOR, R.ADMINISTRATOR}),
    # Blocking harassing numbers (the PBX is told to reject their calls).
    "telephony.block": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # Listening to and downloading call recordings (录音回放): agents their own calls'
    # (the contacts they may see), supervisors and administrators all; each listen audited.
    "telephony.recordings": frozenset({R.AGENT, R.SUPERVISOR, R.ADMINISTRATOR}),
    # The IVR (电脑导航): editing flows and prompts, rolling back, test calls in the page.
    "telephony.flows": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # Knowledge base: everyone reads; agents propose edits; supervisors publish them.
    "knowledge.view": ALL_STAFF,
    "knowledge.propose": frozenset({R.AGENT, R.SUPERVISOR}),
    "knowledge.publish": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # Follow-up callbacks (回访): owners call back their customers; customer managers make
    # their twice-yearly calls; supervisors record for anyone.
    "surveys.callback": frozenset({R.AGENT, R.SUPERVISOR, R.CUSTOMER_MANAGER}),
    # Statistics (统计分析): customer managers see the figures of their own cases only.
    "reports.view": frozenset({R.SUPERVISOR, R.ADMINISTRATOR, R.CUSTOMER_MANAGER}),
    "reports.view_all": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "reports.subscribe": frozenset({R.ADMINISTRATOR}),
    # The pipe network (管网): dispatchers and crews isolate bursts (R-REP-1/2); supervisors
    # see the areas whose callers are affected (R-PUB-2). Customers' names in an isolation
    # plan's account list still need customers.view.
    "network.view": frozenset({R.SUPERVISOR, R.DISPATCHER, R.CREW, R.ADMINISTRATOR}),
    # Importing a network file, fitting valves, reporting a valve closed or inoperable.
    "network.manage": frozenset({R.DISPATCHER, R.ADMINISTRATOR}),
    # Repair dispatch (抢修调度, R-REP-1): dispatchers make jobs and send crews, supervisors
    # watch the board and step in; crews take their jobs' steps in the crew app;
    # administrators keep the repair time policies and the crews' details.
    "dispatch.view": frozenset({R.SUPERVISOR, R.DISPATCHER, R.ADMINISTRATOR}),
    "dispatch.manage": frozenset({R.SUPERVISOR, R.DISPATCHER}),
    "dispatch.crew": frozenset({R.CREW}),
    "dispatch.configure": frozenset({R.ADMINISTRATOR}),
    # Interruption notices: every staff member reads them (callers ask everyone); planners
    # and dispatchers draft; supervisors approve, update, restore and close (each of
    # those sends messages); the back office keeps customers' subscriptions.
    "notices.view": ALL_STAFF,
    "notices.draft": frozenset({R.SUPERVISOR, R.DISPATCHER, R.ADMINISTRATOR}),
    "notices.approve": frozenset({R.SUPERVISOR}),
    "notices.subscriptions": frozenset({R.BACK_OFFICE, R.SUPERVISOR, R.ADMINISTRATOR}),
    "messaging.view": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    # New connections (报装, R-CON-1..7): counters, agents on the phone and customer
    # managers take applications; customer managers own them and the connections
    # engineers (back office) survey and fit meters; supervisors watch every clock and
    # hand applications over; administrators keep the policies, the "221" rule and the
    # works-fee table.
    "connections.apply": frozenset({R.AGENT, R.SUPERVISOR, R.BACK_OFFICE, R.CUSTOMER_MANAGER}),
    "connections.view": frozenset(
        {R.SUPERVISOR, R.BACK_OFFICE, R.CUSTOMER_MANAGER, R.ADMINISTRATOR}
    ),
    "connections.work": frozenset({R.BACK_OFFICE, R.CUSTOMER_MANAGER}),
    "connections.view_all": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "connections.supervise": frozenset({R.SUPERVISOR}),
    "connections.configure": frozenset({R.ADMINISTRATOR}),
    # Online payments: the back office asks for refunds and reconciles the providers'
    # statements; a supervisor (never the one who asked) approves a refund.
    "payments.view": frozenset({R.SUPERVISOR, R.BACK_OFFICE, R.ADMINISTRATOR}),
    "payments.refund_request": frozenset({R.BACK_OFFICE}),
    "payments.refund_approve": frozenset({R.SUPERVISOR, R.ADMINISTRATOR}),
    "payments.reconcile": frozenset({R.BACK_OFFICE, R.ADMINISTRATOR}),
}


def can(user: Any, capability: str) -> bool:
    """True when `user` is an active staff member whose role grants `capability` (or the
    system; or a partner client and `capability` is one of a partner's)."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")
    if isinstance(user, actors.SystemActor):
        return True
    if isinstance(user, actors.PartnerActor):
        return capability in actors.PARTNER_CAPABILITIES
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.role in CAPABILITIES[capability]


def check(actor: Any, capability: str) -> None:
    """Raise `AccessDenied` unless `actor` holds `capability` (the one check of views'
    helpers, API endpoints and services). `actor` may not be None."""
    actors.require_actor(actor)
    if not can(actor, capability):
        raise AccessDenied(capability=capability)


def capabilities_of(user: Any) -> list[str]:
    """Every capability `user` holds, sorted (shown by the /api/v1/me endpoint)."""
    return sorted(name for name in CAPABILITIES if can(user, name))


F = TypeVar("F", bound=Callable[..., HttpResponse])


def require(capability: str) -> Callable[[F], F]:
    """View decorator: log in first, then `AccessDenied` (the 403 page) unless the role
    grants `capability`."""
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            check(request.user, capability)
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation, shown only to roles holding its capability."""

    url_name: str
    label: Any
    capability: str
    description: Any = ""
    group: str = ""  # a key of NAV_GROUPS: shown in that group's drop-down menu


# The drop-down menus of the main navigation (so that every role's menu fits one line).
NAV_GROUPS: dict[str, Any] = {
    "cases": _("Cases"),
    "calls": _("Calls"),
    "supply": _("Network & supply"),
    "knowledge": _("Knowledge"),
    "management": _("Management"),
}


NAVIGATION: list[NavItem] = [
    NavItem("home", _("Home"), "home.view", _("Your shift and what to do next")),
    NavItem("tickets:mine", _("My cases"), "tickets.view", _("Cases you own or handle"), "cases"),
    NavItem(
        "tickets:new",
        _("New case"),
        "tickets.create",
        _("Record a contact and open a case"),
        "cases",
    ),
    NavItem(
        "counter:take",
        _("Counter"),
        "tickets.create",
        _("A walk-in customer's case at a service hall, with their signature"),
        "cases",
    ),
    NavItem(
        "console:cases", _("Case search"), "console.use", _("My cases, my team, search"), "cases"
    ),
    NavItem(
        "surveys:mine",
        _("My callbacks"),
        "surveys.callback",
        _("Follow-up calls due and overdue"),
        "cases",
    ),
    NavItem(
        "console:home",
        _("Console"),
        "console.use",
        _("Calls, screen pop and fast intake"),
        "calls",
    ),
    NavItem(
        "messaging:inbox",
        _("Messages inbox"),
        "console.use",
        _("SMS replies from the public waiting for an agent"),
        "calls",
    ),
    NavItem(
        "portal_staff:assist",
        _("Assisted services"),
        "console.use",
        _("Call backs, home visits and pick-ups booked in the online hall to confirm"),
        "calls",
    ),
    NavItem(
        "console:wallboard", _("Wallboard"), "wallboard.view", _("Live hotline status"), "calls"
    ),
    NavItem(
        "telephony:simulator",
        _("Call simulator"),
        "telephony.simulate",
        _("Demo tool: post call events"),
        "calls",
    ),
    NavItem(
        "connections:portfolio",
        _("New connections"),
        "connections.view",
        _("Applications, their clocks and the customer managers' portfolios"),
        "cases",
    ),
    NavItem(
        "connections:new",
        _("New connection application"),
        "connections.apply",
        _("Take an application at the counter or on the phone"),
        "cases",
    ),
    NavItem(
        "customers:search",
        _("Customers"),
        "customers.view",
        _("Find a caller by phone, account number or address"),
    ),
    NavItem(
        "network:map",
        _("Pipe network"),
        "network.view",
        _("The network map: click a pipe to plan its isolation"),
        "supply",
    ),
    NavItem(
        "dispatch:board",
        _("Repair board"),
        "dispatch.view",
        _("Repair jobs, crews and their clocks on the map"),
        "supply",
    ),
    NavItem("dispatch:crew_app", _("My repair jobs"), "dispatch.crew", _("The crew app"), "supply"),
    NavItem(
        "notices:list",
        _("Interruption notices"),
        "notices.view",
        _("Planned and unplanned interruptions, who was told"),
        "supply",
    ),
    NavItem(
        "knowledge:index",
        _("Knowledge base"),
        "knowledge.view",
        _("Answers to common questions"),
        "knowledge",
    ),
    NavItem(
        "knowledge:review",
        _("Knowledge proposals"),
        "knowledge.publish",
        _("Review and publish article edits"),
        "knowledge",
    ),
    NavItem(
        "reports:kpis",
        _("Statistics"),
        "reports.view",
        _("KPIs, charts, drill-down, exports"),
        "management",
    ),
    NavItem(
        "payments:refunds",
        _("Payments"),
        "payments.view",
        _("Refunds, reconciliation, paper invoices"),
        "management",
    ),
    NavItem(
        "counter:by_location",
        _("Counter cases by location"),
        "reports.view",
        _("Cases taken at each service hall and government service centre"),
        "management",
    ),
    NavItem("roster", _("Shift roster"), "roster.view", _("Who is on which shift"), "management"),
    NavItem(
        "audit", _("Audit log"), "audit.view", _("Every change, who made it and when"), "management"
    ),
    NavItem(
        "admin:index",
        _("Management screens"),
        "admin.site",
        _("Records and settings"),
        "management",
    ),
    NavItem(
        "password_change",
        _("Change password"),
        "profile.password",
        _("Your login password"),
        "account",
    ),
]


@dataclass(frozen=True)
class NavEntry:
    """One place on the navigation bar: a link, or a drop-down group of links."""

    label: Any
    items: tuple[NavItem, ...]

    @property
    def is_menu(self) -> bool:
        return len(self.items) > 1


def navigation_bar(user: Any) -> list[NavEntry]:
    """The navigation bar of `user`: groups become drop-down menus, and a group holding a
    single entry for this role is shown as that plain link. Account entries (password)
    live in the user menu, not on the bar."""
    entries: list[NavEntry] = []
    where: dict[str, int] = {}
    for item in navigation_for(user):
        if item.group == "account":
            continue
        if not item.group:
            entries.append(NavEntry(item.label, (item,)))
            continue
        if item.group not in where:
            where[item.group] = len(entries)
            entries.append(NavEntry(NAV_GROUPS[item.group], ()))
        index = where[item.group]
        entries[index] = NavEntry(entries[index].label, (*entries[index].items, item))
    return entries


def navigation_for(user: Any) -> list[NavItem]:
    """The navigation entries `user` may use, in menu order."""
    return [item for item in NAVIGATION if can(user, item.capability)]
