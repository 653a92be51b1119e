"""Reads of the customer registry that reach staff: the lookup behind the screen pop, and
a customer's full record. Both decide what the user may see (phone numbers are masked
unless the role holds `customers.view_phone_full`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import F, Prefetch, Q, Window
from django.db.models.functions import RowNumber

from qingquan.core.access import AccessDenied
from qingquan.customers import phones, privacy
from qingquan.customers.models import (
    Account,
    AccountKind,
    AccountStatus,
    Bill,
    BillStatus,
    Customer,
    CustomerKind,
    CustomerPhone,
    Invoice,
    Payment,
    PhoneLabel,
    Premise,
)
from qingquan.staff.access import can

RECENT_BILLS = 12
_DIGITS = re.compile(r"^\+?\d+$")
_MOBILE = re.compile(r"^1\d{10}$")


@dataclass
class PhoneView:
    number: str
    label: str
    is_primary: bool
    masked: bool


@dataclass
class BillView:
    id: int
    period_start: dt.date
    period_end: dt.date
    volume: Decimal
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    status: str
    status_label: str
    due_date: dt.date
    tier_reached: int
    has_invoice: bool = False


@dataclass
class AccountView:
    id: int
    number: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    tariff: str
    household_size: int
    address: str
    district: str
    latitude: float | None
    longitude: float | None
    balance: Decimal
    bills: list[BillView] = field(default_factory=list)


@dataclass
class CustomerView:
    """What an agent sees about one customer on answering a call."""

    id: int
    name: str
    kind: str
    kind_label: str
    elderly_or_impaired: bool
    sensitive: bool
    matched_by: str
    phones: list[PhoneView]
    accounts: list[AccountView]
    balance: Decimal
    # Filled by the cases and interruption-notice apps through their selectors.
    open_cases: list[Any] = field(default_factory=list)
    interruptions: list[Any] = field(default_factory=list)


def _require_view(user: Any) -> None:
    if not can(user, "customers.view"):
        raise AccessDenied(capability="customers.view")


def _phone_view(phone: CustomerPhone, user: Any, full: bool) -> PhoneView:
    number = privacy.shown(
        phone.national_digits, user=user, of=("customers.customer", phone.customer_id)
    )
    return PhoneView(
        number=number,
        label=str(phone.get_label_display()),
        is_primary=phone.is_primary,
        masked=not full,
    )


def bill_view(bill: Bill) -> BillView:
    paid = bill.paid
    cancelled = bill.status == BillStatus.CANCELLED
    outstanding = Decimal("0.00") if cancelled else max(bill.total - paid, Decimal(0))
    return BillView(
        id=bill.pk,
        period_start=bill.period_start,
        period_end=bill.period_end,
        volume=bill.volume,
        total=bill.total,
        paid=paid,
        outstanding=outstanding,
        status=bill.status,
        status_label=str(bill.get_status_display()),
        due_date=bill.due_date,
        tier_reached=bill.tier_reached,
        has_invoice=bool(getattr(bill, "invoice_pk", None)),
    )


def recent_bills(account_ids: list[int], per_account: int = RECENT_BILLS) -> dict[int, list[Bill]]:
    """The last `per_account` bills of each account, newest first, in one query."""
    ranked = (
        Bill.objects.filter(account_id__in=account_ids)
        .with_paid()
        .annotate(
            invoice_pk=F("invoice__id"),
            rank=Window(
                RowNumber(),
                partition_by=[F("account_id")],
                order_by=[F("period_end").desc(), F("pk").desc()],
            ),
        )
        .filter(rank__lte=per_account)
        .order_by("account_id", "-period_end", "-pk")
    )
    result: dict[int, list[Bill]] = {pk: [] for pk in account_ids}
    for bill in ranked:
        result[bill.account_id].append(bill)
    return result


def balances(account_ids: list[int]) -> dict[int, Decimal]:
    """What each account owes: the unpaid parts of its open bills."""
    owed: dict[int, Decimal] = dict.fromkeys(account_ids, Decimal("0.00"))
    rows = (
        Bill.objects.filter(account_id__in=account_ids)
        .open()
        .with_paid()
        .values_list("account_id", "total", "paid_sum")  # type: ignore[misc]
    )
    for account_id, total, paid in rows:
        # SQLite sums decimals as floats: back to fen before subtracting.
        owed[account_id] += max(total - Decimal(paid).quantize(Decimal("0.01")), Decimal(0))
    return owed


def _views(customers: list[Customer], matched: dict[int, str], user: Any) -> list[CustomerView]:
    full = privacy.may_see(user, privacy.Kind.PHONE)
    account_ids = [a.pk for c in customers for a in c.accounts.all()]
    bills = recent_bills(account_ids)
    owed = balances(account_ids)
    result = []
    for customer in customers:
        accounts = [
            AccountView(
                id=a.pk,
                number=a.number,
                kind=a.kind,
                kind_label=str(a.get_kind_display()),
                status=a.status,
                status_label=str(a.get_status_display()),
                tariff=a.tariff.name,
                household_size=a.household_size,
                address=a.premise.address,
                district=a.premise.district.name,
                latitude=a.premise.latitude,
                longitude=a.premise.longitude,
                balance=owed[a.pk],
                bills=[bill_view(b) for b in bills[a.pk]],
            )
            for a in customer.accounts.all()
        ]
        result.append(
            CustomerView(
                id=customer.pk,
                name=privacy.shown(customer.name, user=user, kind=privacy.Kind.NAME),
                kind=customer.kind,
                kind_label=str(customer.get_kind_display()),
                elderly_or_impaired=customer.elderly_or_impaired,
                sensitive=customer.sensitive,
                matched_by=matched.get(customer.pk, ""),
                phones=[_phone_view(p, user, full) for p in customer.phones.all()],
                accounts=accounts,
                balance=sum((a.balance for a in accounts), Decimal("0.00")),
            )
        )
    return result


def _with_related(qs: Any) -> Any:
    return qs.prefetch_related(
        "phones",
        Prefetch(
            "accounts",
            queryset=Account.objects.select_related("premise__district", "tariff").order_by(
                "number"
            ),
        ),
    )


def classify(query: str) -> tuple[str, str]:
    """("digits", cleaned) for numbers (phone or account), ("text", cleaned) otherwise."""
    compact = phones.clean_input(query.strip())
    if compact and _DIGITS.match(compact):
        return "digits", compact
    return "text", " ".join(query.split())


def customer_lookup(*, user: Any, query: str, limit: int = 20) -> list[CustomerView]:
    """Customers matching a phone number (any common form), an account number, or part of
    an address or name, with their accounts, balances and last 12 bills."""
    _require_view(user)
    kind, text = classify(query or "")
    if not text or limit <= 0:
        return []
    matched: dict[int, str] = {}

    def add(ids: Any, how: str) -> None:
        for pk in ids:
            matched.setdefault(pk, how)

    if kind == "digits":
        if _MOBILE.match(text):
            # A mobile typed as 11 digits is its own national form: no parsing needed (an
            # invalid one finds nothing, since only valid numbers are stored).
            national: str | None = text
        else:
            number = phones.try_normalise(text)
            national = number[1] if number else None
        for customer_id, how in _rows(
            _MATCH_DIGITS if national else _MATCH_ACCOUNT,
            [national, limit, text.lstrip("+")] if national else [text.lstrip("+")],
        ):
            matched.setdefault(customer_id, how)
    else:
        if len(text) < 2:
            return []
        words = text.split(" ")
        by_address = Q()
        for word in words:
            by_address &= Q(premise__address__contains=word)
        # Ordered by id, not by address: a common word matches most of the city, and
        # sorting a million addresses to show 20 would cost more than the search.
        add(
            Account.objects.filter(by_address)
            .order_by("pk")
            .values_list("customer_id", flat=True)[: limit * 3],
            "address",
        )
        if len(matched) < limit:
            add(
                Customer.objects.filter(name__contains=text)
                .order_by("name")
                .values_list("pk", flat=True)[:limit],
                "name",
            )
    return _cards(list(matched)[:limit], matched, user)


# The screen pop's reads, as plain SQL on rows (no model instances): the lookup runs on
# every answered call, and building cards from tuples costs a fraction of the ORM's work.
# Four statements whatever the number of customers, accounts or bills: who matched;
# customers with their accounts, premises, districts and tariffs; phones; bills (the last
# RECENT_BILLS of each account and every open one, for the balance) with what was paid on
# each and the invoice, the payments summed once per bill in a grouped join rather than by
# a subquery per row. Indexes used: phone national_digits, account number (unique),
# account customer_id, bill (account_id, period_end), payment bill_id, invoice bill_id.
_MATCH_ACCOUNT = "SELECT customer_id, 'account' FROM customers_account WHERE number = %s"
_MATCH_DIGITS = (
    "SELECT customer_id, how FROM (SELECT customer_id, 'phone' AS how "
    "FROM customers_customerphone WHERE national_digits = %s LIMIT %s) phone_match "
    "UNION ALL SELECT customer_id, 'account' FROM customers_account WHERE number = %s"
)
_CUSTOMERS = (
    "SELECT c.id, c.name, c.kind, c.elderly_or_impaired, c.sensitive, a.id, a.number, "
    "a.kind, a.status, a.household_size, t.name, p.address, d.name, p.latitude, p.longitude "
    "FROM customers_customer c "
    "LEFT JOIN customers_account a ON a.customer_id = c.id "
    "LEFT JOIN customers_premise p ON p.id = a.premise_id "
    "LEFT JOIN areas_district d ON d.id = p.district_id "
    "LEFT JOIN customers_tariff t ON t.id = a.tariff_id "
    "WHERE c.id IN ({ids}) ORDER BY a.number"
)
_PHONES = (
    "SELECT customer_id, national_digits, label, is_primary FROM customers_customerphone "
    "WHERE customer_id IN ({ids}) ORDER BY is_primary DESC, id"
)
_BILLS = (
    "SELECT r.id, r.account_id, r.period_start, r.period_end, r.volume, r.total, r.status, "
    "r.due_date, r.tier_reached, r.rn, i.id, ps.paid FROM ("
    "SELECT b.id, b.account_id, b.period_start, b.period_end, b.volume, b.total, b.status, "
    "b.due_date, b.tier_reached, ROW_NUMBER() OVER (PARTITION BY b.account_id "
    "ORDER BY b.period_end DESC, b.id DESC) AS rn "
    "FROM customers_bill b WHERE b.account_id IN ({ids})) r "
    "LEFT JOIN customers_invoice i ON i.bill_id = r.id "
    "LEFT JOIN (SELECT pm.bill_id, SUM(pm.amount) AS paid FROM customers_payment pm "
    "JOIN customers_bill pb ON pb.id = pm.bill_id WHERE pb.account_id IN ({ids}) "
    "GROUP BY pm.bill_id) ps ON ps.bill_id = r.id "
    "WHERE r.rn <= %s OR r.status IN (%s, %s) "
    "ORDER BY r.account_id, r.rn"
)
CENT = Decimal("0.01")
LITRE = Decimal("0.001")
ZERO_MONEY = Decimal("0.00")
_OPEN = (str(BillStatus.UNPAID), str(BillStatus.PARTIALLY_PAID))


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _in(sql: str, ids: list[int]) -> str:
    # Only integers from our own queries go into the IN lists.
    return sql.replace("{ids}", ", ".join(str(int(pk)) for pk in ids))


def _decimal(value: Any, places: Decimal) -> Decimal:
    """A number from the database as a Decimal of `places` (SQLite hands back floats)."""
    if value is None:
        return places * 0
    if isinstance(value, float):
        value = repr(value)
    return Decimal(value).quantize(places)


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _cards(ids: list[int], matched: dict[int, str], user: Any) -> list[CustomerView]:
    """Cards of the customers `ids`, in that order, as `user` may see them."""
    if not ids:
        return []
    full = privacy.may_see(user, privacy.Kind.PHONE)
    customers: dict[int, CustomerView] = {}
    accounts: dict[int, AccountView] = {}
    labels = _Labels()
    for (cid, name, ckind, elderly, sensitive, aid, number, akind, status, household, tariff,
         address, district, lat, lon) in _rows(_in(_CUSTOMERS, ids), []):  # fmt: skip
        card = customers.get(cid)
        if card is None:
            card = customers[cid] = CustomerView(
                id=cid,
                name=privacy.shown(name, user=user, kind=privacy.Kind.NAME),
                kind=ckind,
                kind_label=labels.get(CustomerKind, ckind),
                elderly_or_impaired=bool(elderly),
                sensitive=bool(sensitive),
                matched_by=matched.get(cid, ""),
                phones=[],
                accounts=[],
                balance=ZERO_MONEY,
            )
        if aid is not None:
            account = accounts[aid] = AccountView(
                id=aid,
                number=number,
                kind=akind,
                kind_label=labels.get(AccountKind, akind),
                status=status,
                status_label=labels.get(AccountStatus, status),
                tariff=tariff,
                household_size=household,
                address=address,
                district=district,
                latitude=lat,
                longitude=lon,
                balance=ZERO_MONEY,
            )
            card.accounts.append(account)
    if not customers:
        return []
    for cid, digits, label, primary in _rows(_in(_PHONES, list(customers)), []):
        customers[cid].phones.append(
            PhoneView(
                number=privacy.shown(digits, user=user, of=("customers.customer", cid)),
                label=labels.get(PhoneLabel, label),
                is_primary=bool(primary),
                masked=not full,
            )
        )
    if accounts:
        _add_bills(accounts, labels)
        for card in customers.values():
            card.balance = sum((a.balance for a in card.accounts), ZERO_MONEY)
    return [customers[pk] for pk in ids if pk in customers]


def _add_bills(accounts: dict[int, AccountView], labels: _Labels) -> None:
    """Each account's balance (its open bills) and its most recent bills, in one query."""
    cancelled = str(BillStatus.CANCELLED)
    for (bid, aid, start, end, volume, total, status, due, tier, rank, invoice,
         paid) in _rows(_in(_BILLS, list(accounts)), [RECENT_BILLS, *_OPEN]):  # fmt: skip
        account = accounts[aid]
        total = _decimal(total, CENT)
        paid = _decimal(paid, CENT)
        owed = ZERO_MONEY if status == cancelled or paid >= total else total - paid
        if status in _OPEN:
            account.balance += owed
        if rank <= RECENT_BILLS:
            account.bills.append(
                BillView(
                    id=bid,
                    period_start=_date(start),
                    period_end=_date(end),
                    volume=_decimal(volume, LITRE),
                    total=total,
                    paid=paid,
                    outstanding=owed,
                    status=status,
                    status_label=labels.get(BillStatus, status),
                    due_date=_date(due),
                    tier_reached=tier,
                    has_invoice=invoice is not None,
                )
            )


class _Labels:
    """Choice labels in the active language, each translated once per lookup."""

    def __init__(self) -> None:
        self.cache: dict[tuple[Any, str], str] = {}

    def get(self, choices: Any, value: str) -> str:
        key = (choices, value)
        label = self.cache.get(key)
        if label is None:
            try:
                label = self.cache[key] = str(choices(value).label)
            except ValueError:
                label = self.cache[key] = value
        return label


# One customer's record -------------------------------------------------------------------
@dataclass
class BillExplanation:
    """Why a bill is what it is: this period against the same one a year before."""

    bill: Bill
    days: int
    daily: Decimal
    last_year_volume: Decimal | None
    change_percent: Decimal | None
    annual_to_date: Decimal
    tier_bounds: list[Decimal]


def explain(bill: Bill, history: list[Bill]) -> BillExplanation:
    """Compare `bill` with the bill of the same period last year among `history`, and place
    its year-to-date volume against the tier bounds of the account's household."""
    from qingquan.customers.services import annual_volume_before

    days = (bill.period_end - bill.period_start).days + 1
    try:
        year_ago = bill.period_start.replace(year=bill.period_start.year - 1)
    except ValueError:  # 29 February
        year_ago = bill.period_start - dt.timedelta(days=365)
    previous = next(
        (
            b
            for b in history
            if b.status != BillStatus.CANCELLED and abs((b.period_start - year_ago).days) <= 10
        ),
        None,
    )
    change = None
    if previous is not None and previous.volume > 0:
        change = ((bill.volume - previous.volume) / previous.volume * 100).quantize(Decimal("1"))
    account = bill.account
    bounds = [
        bound
        for tier in account.tariff.tiers_on(bill.period_end)
        if (bound := tier.bound_for(account.household_size)) is not None
    ]
    return BillExplanation(
        bill=bill,
        days=days,
        daily=(bill.volume / days).quantize(Decimal("0.001")),
        last_year_volume=previous.volume if previous else None,
        change_percent=change,
        annual_to_date=annual_volume_before(account, bill.period_start, history) + bill.volume
        if bill.period_start.year == bill.period_end.year
        else bill.volume,
        tier_bounds=bounds,
    )


@dataclass
class CustomerRecord:
    """A customer's full record for the detail page and the API."""

    view: CustomerView
    customer: Customer
    bills: dict[int, list[Bill]]
    payments: dict[int, list[Payment]]
    invoices: list[Invoice]
    meters: dict[int, list[Any]]


def customer_record(*, user: Any, customer_id: int, months: int = 36) -> CustomerRecord:
    """Everything about one customer: accounts, bills of the last `months` months with their
    lines, payments, invoices and meters. Customer.DoesNotExist if there is none."""
    _require_view(user)
    customer = _with_related(Customer.objects.filter(pk=customer_id)).get()
    view = _views([customer], {}, user)[0]
    account_ids = [a.id for a in view.accounts]
    bills: dict[int, list[Bill]] = {pk: [] for pk in account_ids}
    for bill in (
        Bill.objects.filter(account_id__in=account_ids)
        .with_paid()
        .annotate(invoice_pk=F("invoice__id"))
        .select_related("account__tariff")
        .prefetch_related("lines")
        .order_by("-period_end", "-pk")[: months * max(len(account_ids), 1)]
    ):
        bills[bill.account_id].append(bill)
    payments: dict[int, list[Payment]] = {pk: [] for pk in account_ids}
    for payment in Payment.objects.filter(bill__account_id__in=account_ids).select_related("bill")[
        :200
    ]:
        payments[payment.bill.account_id].append(payment)
    invoices = list(
        Invoice.objects.filter(bill__account_id__in=account_ids).select_related("bill__account")[
            :100
        ]
    )
    meters: dict[int, list[Any]] = {pk: [] for pk in account_ids}
    for account in customer.accounts.all():
        meters[account.pk] = list(account.meters.order_by("-installed_on"))
    return CustomerRecord(
        view=view,
        customer=customer,
        bills=bills,
        payments=payments,
        invoices=invoices,
        meters=meters,
    )


def invoice_for(*, user: Any, invoice_id: int) -> Invoice:
    """An invoice the user may download (anyone who may see customers)."""
    _require_view(user)
    return Invoice.objects.select_related("bill__account__customer", "bill__account__premise").get(
        pk=invoice_id
    )


REGISTRY: dict[str, Any] = {"customer": Customer, "account": Account, "premise": Premise}


def registry_record(*, user: Any, kind: str, pk: int) -> Customer | Account | Premise | None:
    """The customer, account or premise (`kind`) with key `pk` for a case or contact being
    recorded, None when there is none; AccessDenied for a user who may not see the
    registry (`customers.view`)."""
    _require_view(user)
    record: Customer | Account | Premise | None = REGISTRY[kind].objects.filter(pk=pk).first()
    return record
