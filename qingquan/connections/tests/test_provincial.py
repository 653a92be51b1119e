"""The provincial platform (R-CH-2): applications arrive through the partner API and send
their step changes and completion back through the partners' outbox, signed, retried
with backoff and idempotent. A fake of the provincial endpoint (a real HTTP server on
localhost) checks every signature with its own code and acts on each change once, even
when a delivery reaches it twice."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.db import transaction
from django.test import Client

from qingquan.connections import services
from qingquan.connections.models import Application
from qingquan.core import clock, outbox
from qingquan.core.actors import SYSTEM
from qingquan.partners import services as partner_services
from qingquan.partners import webhooks
from qingquan.partners.models import Delivery, DeliveryStatus, IdempotencyRecord
from qingquan.staff.roles import Role

from .conftest import PDF, a_uscc, document

pytestmark = pytest.mark.django_db

SECRET = "zlb-shared-secret"
EVENTS = [
    "connection.received",
    "connection.step_changed",
    "connection.completed",
    "connection.cancelled",
]


class FakeProvince:
    """The provincial platform's callback endpoint: refuses a bad or stale signature
    (401), keeps the delivery ids it processed and acknowledges a repeat without acting
    on it again. `fail` answers 503 without processing; `lose_answer` processes, then
    answers 503 (as if the answer were lost on the way back)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.processed: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.requests: list[tuple[str, int]] = []  # (delivery id, status answered)
        self.fail = 0
        self.lose_answer = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = outer.handle(
                    body,
                    self.headers.get("X-Qingquan-Timestamp", ""),
                    self.headers.get("X-Qingquan-Signature", ""),
                    self.headers.get("X-Qingquan-Delivery", ""),
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def genuine(self, body: bytes, stamp: str, signature: str) -> bool:
        try:
            age = abs(time.time() - int(stamp))
        except ValueError:
            return False
        mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        return age <= 300 and hmac.compare_digest(f"sha256={mac.hexdigest()}", signature)

    def handle(self, body: bytes, stamp: str, signature: str, delivery: str) -> int:
        with self.lock:
            if not self.genuine(body, stamp, signature):
                self.requests.append((delivery, 401))
                return 401
            message = json.loads(body)
            if message["id"] != delivery:
                self.requests.append((delivery, 400))
                return 400
            if self.fail:
                self.fail -= 1
                self.requests.append((delivery, 503))
                return 503
            if delivery not in self.seen:  # each change acted on once
                self.seen.add(delivery)
                self.processed.append(message)
            status = 200
            if self.lose_answer:
                self.lose_answer -= 1
                status = 503
            self.requests.append((delivery, status))
            return status

    def events(self) -> list[str]:
        return [m["event"] for m in self.processed]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def province() -> Iterator[FakeProvince]:
    server = FakeProvince(SECRET)
    yield server
    server.close()


@pytest.fixture
def make_partner(make_user: Callable[..., Any]) -> Callable[..., tuple[Any, str]]:
    inbox = make_user(Role.AGENT, username="zlb-inbox")

    def make(code: str = "zlb", scopes: list[str] | None = None) -> tuple[Any, str]:
        return partner_services.partner_client_create(
            actor=SYSTEM,
            code=code,
            name=f"浙里办 {code}",
            channel="provincial",
            scopes=scopes if scopes is not None else ["connections", "cases:write"],
            intake_owner=inbox,
        )

    return make


@pytest.fixture
def zlb(make_partner: Any, province: FakeProvince, people: Any) -> tuple[Any, Client]:
    client, key = make_partner()
    partner_services.subscription_save(
        actor=SYSTEM, client=client, url=province.url, events=EVENTS, secret=SECRET
    )
    return client, Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": "ZLB-BZ-2026-0001",
        "applicant_kind": "enterprise",
        "applicant_name": "宁波清泉茶饮有限公司",
        "phone": "13900003333",
        "document_kind": "licence",
        "document_number": a_uscc(),
        "document": {"filename": "licence.pdf", "content_base64": base64.b64encode(PDF).decode()},
        "address": "宁波市海曙区中山西路1号",
        "use": "business",
        "m3_per_day": "5",
        "pipe_mm": 25,
    }
    data.update(overrides)
    return data


def send(api: Client, data: dict[str, Any], key: str = "k-1") -> Any:
    return api.post(
        "/api/partner/v1/connections",
        data=json.dumps(data),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def later(seconds: int) -> dt.datetime:
    return clock.now() + dt.timedelta(seconds=seconds)


def test_steps_and_completion_reach_the_platform_once_each_despite_a_retry(
    zlb: Any, province: FakeProvince, people: Any
) -> None:
    client, api = zlb
    data = body()
    r = send(api, data)
    assert r.status_code == 201, r.content
    number = r.json()["number"]
    assert r.json()["external_id"] == "ZLB-BZ-2026-0001" and r.json()["step"]["order"] == 1
    # The same request again (same key), and the same application under another key.
    again = send(api, data)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["number"] == number
    other_key = send(api, data, key="k-2")
    assert other_key.status_code == 200 and other_key.json()["number"] == number
    app = Application.objects.get()
    assert app.channel == "provincial" and app.partner == client
    assert Delivery.objects.count() == 1

    # The platform processes the first message but its answer is lost: retried later.
    province.lose_answer = 1
    assert webhooks.deliver_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert webhooks.deliver_due() == 0  # not due yet (backoff)
    assert webhooks.deliver_due(now=later(31)) == 1
    assert [r[0] for r in province.requests] == [str(delivery.delivery_id)] * 2
    assert province.events() == ["connection.received"]

    app = services.step_complete(
        actor=people["manager"], application=app, engineer=people["engineer"]
    )
    app = services.step_complete(actor=people["engineer"], application=app, note="通水")
    assert webhooks.deliver_due(now=later(60)) == 2
    assert province.events() == EVENTS[:3]
    assert all(status != 401 for _id, status in province.requests)
    step, done = province.processed[1], province.processed[2]
    assert step["application"]["step"]["code"] == "connect"
    assert step["application"]["external_id"] == "ZLB-BZ-2026-0001"
    assert done["application"]["state"] == "water_on"
    assert done["application"]["utility_working_days"] is not None
    assert done["occurred_at"].endswith("+08:00")
    r = api.get("/api/partner/v1/connections/ZLB-BZ-2026-0001")
    assert r.status_code == 200 and r.json()["status"] == "closed"


def test_a_worker_dying_after_sending_repeats_nothing_for_the_platform(
    zlb: Any, province: FakeProvince
) -> None:
    _client, api = zlb
    assert send(api, body()).status_code == 201
    now = clock.now()
    claimed = outbox.claim(Delivery, worker="w1", now=now)
    delivery = Delivery.objects.select_related("subscription").get(pk=claimed[0])
    outcome = webhooks.post(delivery)  # sent; then the worker dies before recording it
    assert outcome.ok and province.events() == ["connection.received"]
    assert webhooks.deliver_due(worker="w2", now=now + outbox.LEASE + dt.timedelta(seconds=1)) == 1
    assert len(province.requests) == 2 and province.events() == ["connection.received"]
    with transaction.atomic():  # the dead worker's late record changes nothing
        assert not webhooks.record(delivery, outcome, worker="w1", now=clock.now())
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_forged_or_stale_callbacks_are_refused_by_the_platform(
    zlb: Any, province: FakeProvince
) -> None:
    payload = json.dumps({"id": "x", "event": "connection.completed"}).encode()
    stamp = int(time.time())
    forged = webhooks.sign("not-the-secret", stamp, payload)
    headers = {"X-Qingquan-Timestamp": str(stamp), "X-Qingquan-Delivery": "x"}
    headers["X-Qingquan-Signature"] = forged
    r = httpx.post(province.url, content=payload, headers=headers)
    assert r.status_code == 401
    old = stamp - 3600
    stale = {
        "X-Qingquan-Timestamp": str(old),
        "X-Qingquan-Signature": webhooks.sign(SECRET, old, payload),
        "X-Qingquan-Delivery": "x",
    }
    assert httpx.post(province.url, content=payload, headers=stale).status_code == 401
    assert province.processed == []
    # A subscription with the wrong secret never gets a change accepted: retried, kept.
    client, api = zlb
    subscription = client.subscriptions.get()
    partner_services.subscription_save(
        actor=SYSTEM,
        client=client,
        url=province.url,
        events=EVENTS,
        secret="wrong",
        subscription=subscription,
    )
    assert send(api, body()).status_code == 201
    assert webhooks.deliver_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.last_status_code == 401 and delivery.status == DeliveryStatus.PENDING
    assert province.processed == []


def test_a_refused_or_rolled_back_step_sends_nothing(zlb: Any, people: Any) -> None:
    _client, api = zlb
    assert send(api, body()).status_code == 201
    app = Application.objects.get()
    with pytest.raises(services.NotOwner):
        services.step_complete(
            actor=people["engineer"], application=app, engineer=people["engineer"]
        )
    with pytest.raises(RuntimeError), transaction.atomic():
        services.step_complete(
            actor=people["manager"], application=app, engineer=people["engineer"]
        )
        assert Delivery.objects.count() == 2  # written with the step…
        raise RuntimeError  # …and rolled back with it
    assert Delivery.objects.count() == 1
    # A counter application is nobody's partner's: no message at all.
    counter = services.application_create(
        actor=people["agent"],
        data=services.ApplicationInput(
            applicant_kind="enterprise",
            applicant_name="宁波柜台申请有限公司",
            phone="13900004444",
            document_kind="licence",
            document_number=a_uscc(),
            documents=[document()],
            use="business",
            m3_per_day="3",
            pipe_mm=20,
            address="宁波市江北区人民路3号",
        ),
    )
    services.step_complete(actor=counter.manager, application=counter, engineer=people["engineer"])
    assert Delivery.objects.count() == 1


def test_real_estate_from_the_platform_reports_its_ready_date(
    zlb: Any, province: FakeProvince, people: Any
) -> None:
    _client, api = zlb
    data = body(use="real_estate", pipe_mm=200, m3_per_day="400", project={"name": "甬江悦府"})
    r = send(api, data)
    assert r.status_code == 201 and r.json()["policy"] == "real_estate"
    app = Application.objects.get()
    assert app.deadline is None  # waiting for the ready date
    services.ready_record(
        actor=app.manager, application=app, ready_on=clock.today(), evidence="场地移交单"
    )
    assert webhooks.deliver_due() == 2
    ready = province.processed[1]
    assert ready["event"] == "connection.step_changed" and ready["action"] == "ready"
    assert ready["application"]["deadline"] is not None


def test_bad_requests_are_refused_and_write_nothing(
    zlb: Any, make_partner: Any, people: Any
) -> None:
    _client, api = zlb
    r = send(api, body(document={"filename": "a.pdf", "content_base64": "%%%"}))
    assert r.status_code == 400 and "base64" in r.json()["error"]["message"]
    r = send(api, body(document_number="91330203MA2AAAAAA1"), key="k-3")
    assert r.status_code == 400 and "not valid" in r.json()["error"]["message"]
    r = send(api, body(use="real_estate"), key="k-4")
    assert r.status_code == 400 and "project" in r.json()["error"]["message"]
    assert not Application.objects.exists() and not IdempotencyRecord.objects.exists()
    assert not Delivery.objects.exists()
    r = send(api, body(pipe_mm=5), key="k-5")
    assert r.status_code == 422
    forged = Client(HTTP_AUTHORIZATION="Bearer qq_deadbeef_forged")
    assert send(forged, body()).status_code == 401
    _other, other_key = make_partner("wechat-mini", scopes=["cases:write"])
    no_scope = Client(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert send(no_scope, body()).status_code == 403
    assert send(api, body(), key="k-6").status_code == 201
    number = Application.objects.get().number
    _third, third_key = make_partner("zlb-2")
    stranger = Client(HTTP_AUTHORIZATION=f"Bearer {third_key}")
    assert stranger.get(f"/api/partner/v1/connections/{number}").status_code == 404
    assert api.get(f"/api/partner/v1/connections/{number}").status_code == 200
