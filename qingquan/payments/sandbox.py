"""The local sandbox of each provider (demo, tests; never in production).

It speaks a WeChat-Pay-v3-like protocol: our requests carry an `Authorization` header
signed over method, path, timestamp, nonce and body, which the sandbox verifies before it
answers; its notifies (payments and refunds) are JSON signed in the `Wechatpay-*`
headers; the JSAPI parameters are signed as the WeChat client checks them; its statement
file of a day is a CSV in the layout of WeChat Pay's trade bill (交易账单), written from
the sandbox's own ledger (`SandboxTrade`), never from our orders. Signatures are
HMAC-SHA256 with the sandbox secret where the real provider uses RSA keys."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import re
import secrets
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from qingquan.core import clock
from qingquan.payments.models import PaymentOrder, Refund, SandboxTrade
from qingquan.payments.providers import (
    Checkout,
    Notified,
    NotifyRejected,
    ProviderError,
    RefundAccepted,
    RefundNotified,
)

SANDBOX_APPID = "wxsandbox0000001"
SANDBOX_MCHID = "1900000001"
STATEMENT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)
SUMMARY_HEADER = (
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
)


def sandbox_secret() -> str:
    return (
        getattr(settings, "QINGQUAN_PAYMENTS_SANDBOX_SECRET", "")
        or "sandbox-" + (hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:24])
    )


def sandbox_sign(timestamp: str, nonce: str, body: bytes, secret: str | None = None) -> str:
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return hmac.new((secret or sandbox_secret()).encode(), message, hashlib.sha256).hexdigest()


def _lines_sign(parts: list[str], secret: str | None = None) -> str:
    message = "".join(f"{p}\n" for p in parts).encode()
    return hmac.new((secret or sandbox_secret()).encode(), message, hashlib.sha256).hexdigest()


def request_authorization(method: str, path: str, body: bytes, secret: str | None = None) -> str:
    """The `Authorization` header of our request to the provider (merchant's signature)."""
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = _lines_sign([method, path, ts, nonce, body.decode()], secret)
    return (
        f'WECHATPAY2-SHA256-RSA2048 mchid="{SANDBOX_MCHID}",nonce_str="{nonce}",'
        f'timestamp="{ts}",serial_no="SANDBOX",signature="{signature}"'
    )


def verify_request(method: str, path: str, authorization: str, body: bytes) -> None:
    """What the provider does first with every request: check the merchant's signature."""
    scheme, _sp, rest = authorization.partition(" ")
    fields = dict(
        part.split("=", 1) for part in rest.split(",") if "=" in part
    )  # key="value" pairs
    values = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
    if scheme != "WECHATPAY2-SHA256-RSA2048" or values.get("mchid") != SANDBOX_MCHID:
        raise ProviderError("401 SIGN_ERROR: unknown merchant or scheme")
    ts = values.get("timestamp", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > SandboxProvider.MAX_SKEW:
        raise ProviderError("401 SIGN_ERROR: stale request")
    expected = _lines_sign([method, path, ts, values.get("nonce_str", ""), body.decode()])
    if not hmac.compare_digest(values.get("signature", ""), expected):
        raise ProviderError("401 SIGN_ERROR: signature does not match")


def verify_js_params(params: dict[str, str]) -> bool:
    """What the WeChat client checks before it opens the cashier (getBrandWCPayRequest)."""
    parts = [params.get(k, "") for k in ("appId", "timeStamp", "nonceStr", "package")]
    expected = _lines_sign(parts)
    return params.get("appId") == SANDBOX_APPID and hmac.compare_digest(
        params.get("paySign", ""), expected
    )


def _signed(payload: dict[str, Any], secret: str | None) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    headers = {
        "Wechatpay-Timestamp": ts,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sandbox_sign(ts, nonce, body, secret),
    }
    return headers, body


class SandboxProvider:
    """The local sandbox of a provider: its cashier page is
    /payments/sandbox/<out_trade_no>/; it signs the notifies it sends."""

    MAX_SKEW = 300  # seconds a notify's or a request's timestamp may be off

    def __init__(self, name: str) -> None:
        self.name = name

    # -- our requests ---------------------------------------------------------------
    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout:
        return Checkout(code_url=f"/payments/sandbox/{order.out_trade_no}/")

    def _call(self, path: str, payload: dict[str, Any]) -> None:
        """Send a signed request as the real adapter would; the sandbox verifies it."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        verify_request("POST", path, request_authorization("POST", path, body), body)

    def jsapi(self, order: PaymentOrder, *, openid: str, description: str) -> Checkout:
        """Prepay with the payer's openid, then the JS parameters signed for the client."""
        if self.name != "wechat":
            raise ProviderError("JSAPI is WeChat Pay's")
        if not re.fullmatch(r"[A-Za-z0-9_-]{6,64}", openid or ""):
            raise ProviderError("400 PARAM_ERROR: payer.openid")
        self._call(
            "/v3/pay/transactions/jsapi",
            {
                "appid": SANDBOX_APPID,
                "mchid": SANDBOX_MCHID,
                "description": description[:127],
                "out_trade_no": order.out_trade_no,
                "amount": {"total": order.amount_fen, "currency": "CNY"},
                "payer": {"openid": openid},
            },
        )
        prepay = (
            "wx"
            + hmac.new(
                sandbox_secret().encode(), order.out_trade_no.encode(), hashlib.sha256
            ).hexdigest()[:30]
        )
        params = {
            "appId": SANDBOX_APPID,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={prepay}",
            "signType": "RSA",
        }
        params["paySign"] = _lines_sign(
            [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        )
        return Checkout(code_url=params["package"], js_params=params)

    def refund(self, refund: Refund) -> RefundAccepted:
        """Refund part or all of a charged order, once per refund number (a repeat gives
        the same answer); refused for an order it never charged or beyond what it was."""
        order = refund.order
        self._call(
            "/v3/refund/domestic/refunds",
            {
                "out_trade_no": order.out_trade_no,
                "out_refund_no": refund.out_refund_no,
                "amount": {"refund": refund.amount_fen, "total": order.amount_fen},
            },
        )
        trades = SandboxTrade.objects.filter(provider=self.name, out_trade_no=order.out_trade_no)
        done = trades.filter(kind="refund", out_refund_no=refund.out_refund_no).first()
        if done is not None:
            return RefundAccepted(refund_id=done.refund_id, done=False)
        charged = trades.filter(kind="pay").first()
        if charged is None:
            raise ProviderError("404 RESOURCE_NOT_EXISTS: order not paid")
        before = trades.filter(kind="refund").aggregate(s=Sum("amount_fen"))["s"] or 0
        if before + refund.amount_fen > charged.amount_fen:
            raise ProviderError("400 NOT_ENOUGH: refund exceeds the amount paid")
        row = SandboxTrade.objects.create(
            provider=self.name,
            kind="refund",
            out_trade_no=order.out_trade_no,
            out_refund_no=refund.out_refund_no,
            transaction_id=charged.transaction_id,
            refund_id=f"SBR{secrets.token_hex(10)}",
            amount_fen=refund.amount_fen,
            at=clock.now(),
        )
        return RefundAccepted(refund_id=row.refund_id, done=False)

    # -- what the sandbox sends -------------------------------------------------------
    def charge(self, order: PaymentOrder) -> tuple[dict[str, str], bytes]:
        """The payer confirmed: the sandbox books the charge in its ledger (once) and
        gives the notify it posts."""
        row, _created = SandboxTrade.objects.get_or_create(
            provider=self.name,
            kind="pay",
            out_trade_no=order.out_trade_no,
            out_refund_no="",
            defaults={
                "transaction_id": f"SBX{order.pk:010d}{secrets.token_hex(4)}",
                "amount_fen": order.amount_fen,
                "at": clock.now(),
            },
        )
        return self.notify_for(order, transaction_id=row.transaction_id)

    def notify_for(
        self,
        order: PaymentOrder,
        *,
        amount_fen: int | None = None,
        secret: str | None = None,
        transaction_id: str = "",
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body the sandbox posts once the payer confirmed."""
        resource = {
            "out_trade_no": order.out_trade_no,
            "transaction_id": transaction_id or f"SBX{order.pk:010d}{secrets.token_hex(4)}",
            "trade_state": "SUCCESS",
            "amount": {
                "total": order.amount_fen if amount_fen is None else amount_fen,
                "currency": "CNY",
            },
        }
        return _signed({"event_type": "TRANSACTION.SUCCESS", "resource": resource}, secret)

    def refund_notify_for(
        self, refund: Refund, *, secret: str | None = None, status: str = "SUCCESS"
    ) -> tuple[dict[str, str], bytes]:
        """The signed notify of a refund the sandbox carried out."""
        row = SandboxTrade.objects.filter(
            provider=self.name, kind="refund", out_refund_no=refund.out_refund_no
        ).first()
        resource = {
            "out_trade_no": refund.order.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "refund_id": row.refund_id if row else refund.refund_id,
            "refund_status": status,
            "amount": {
                "refund": row.amount_fen if row else refund.amount_fen,
                "total": refund.order.amount_fen,
            },
        }
        event = "REFUND.SUCCESS" if status == "SUCCESS" else "REFUND.ABNORMAL"
        return _signed({"event_type": event, "resource": resource}, secret)

    def statement(self, day: dt.date) -> str:
        """The day's trade bill (交易账单, ALL): every charge and refund the sandbox
        booked that day (China time), then the summary lines."""
        tz = timezone.get_current_timezone()
        start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
        rows = SandboxTrade.objects.filter(
            provider=self.name, at__gte=start, at__lt=start + dt.timedelta(days=1)
        ).order_by("at", "pk")
        out = io.StringIO()
        out.write(STATEMENT_HEADER + "\n")
        writer = csv.writer(out, lineterminator="\n")
        paid = refunded = Decimal("0.00")
        for r in rows:
            yuan = Decimal(r.amount_fen) / 100
            refund = r.kind == "refund"
            total = (
                Decimal(
                    SandboxTrade.objects.filter(
                        provider=self.name, kind="pay", out_trade_no=r.out_trade_no
                    )
                    .values_list("amount_fen", flat=True)
                    .first()
                    or 0
                )
                / 100
            )
            paid += Decimal("0.00") if refund else yuan
            refunded += yuan if refund else Decimal("0.00")
            fields = [
                f"{timezone.localtime(r.at, tz):%Y-%m-%d %H:%M:%S}",
                SANDBOX_APPID,
                SANDBOX_MCHID,
                "0",
                "",
                r.transaction_id,
                r.out_trade_no,
                "",
                "NATIVE",
                "REFUND" if refund else "SUCCESS",
                "OTHERS",
                "CNY",
                f"{total if refund else yuan:.2f}",
                "0.00",
                r.refund_id,
                r.out_refund_no,
                f"{yuan if refund else 0:.2f}",
                "0.00",
                "ORIGINAL" if refund else "",
                "SUCCESS" if refund else "",
                "水费",
                "",
                "0.00",
                "0.00%",
                f"{total if refund else yuan:.2f}",
                f"{yuan if refund else 0:.2f}",
                "",
            ]
            writer.writerow(["`" + f for f in fields])
        out.write(SUMMARY_HEADER + "\n")
        count = rows.count()
        summary = [str(count), f"{paid:.2f}", f"{refunded:.2f}", "0.00", "0.00"]
        writer.writerow(["`" + f for f in [*summary, f"{paid:.2f}", f"{refunded:.2f}"]])
        return out.getvalue()

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified | RefundNotified:
        ts = headers.get("Wechatpay-Timestamp", "")
        nonce = headers.get("Wechatpay-Nonce", "")
        signature = headers.get("Wechatpay-Signature", "")
        if not (ts.isdigit() and nonce and signature):
            raise NotifyRejected("missing signature headers")
        if abs(time.time() - int(ts)) > self.MAX_SKEW:
            raise NotifyRejected("stale timestamp")
        if not hmac.compare_digest(signature, sandbox_sign(ts, nonce, body)):
            raise NotifyRejected("bad signature")
        try:
            data = json.loads(body)
            resource = data["resource"]
            if str(data.get("event_type", "")).startswith("REFUND."):
                return RefundNotified(
                    out_trade_no=str(resource["out_trade_no"]),
                    out_refund_no=str(resource["out_refund_no"]),
                    refund_id=str(resource["refund_id"]),
                    amount_fen=int(resource["amount"]["refund"]),
                    success=resource.get("refund_status") == "SUCCESS",
                )
            return Notified(
                out_trade_no=str(resource["out_trade_no"]),
                transaction_id=str(resource["transaction_id"]),
                amount_fen=int(resource["amount"]["total"]),
                success=resource.get("trade_state") == "SUCCESS",
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifyRejected("malformed body") from exc
