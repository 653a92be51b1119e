"""Payment providers behind one interface: `checkout(order)` gives what the payer scans
or opens; `verify_notify(headers, body)` checks a notify callback's signature and reads
it. The sandbox speaks a WeChat-Pay-v3-like protocol (JSON body, HMAC-SHA256 signature
over timestamp, nonce and body in the `Wechatpay-*` headers); the real adapters use the
providers' SDKs (`wechatpayv3`, `python-alipay-sdk`) when those are installed and keys
are configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from qingquan.payments.models import PaymentOrder


class NotifyRejected(Exception):
    """A notify whose signature or form is wrong (answered 4xx, nothing recorded)."""


@dataclass(frozen=True)
class Checkout:
    code_url: str  # what the QR code encodes (Native / precreate)


@dataclass(frozen=True)
class Notified:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    success: bool


class PaymentProvider(Protocol):
    name: str

    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout: ...

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified: ...


def sandbox_secret() -> str:
    return (
        getattr(settings, "QINGQUAN_PAYMENTS_SANDBOX_SECRET", "")
        or "sandbox-" + (hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:24])
    )


def sandbox_sign(timestamp: str, nonce: str, body: bytes, secret: str | None = None) -> str:
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    return hmac.new((secret or sandbox_secret()).encode(), message, hashlib.sha256).hexdigest()


class SandboxProvider:
    """The local sandbox of a provider (demo, tests): its cashier page is
    /payments/sandbox/<out_trade_no>/, and it signs the notify it sends."""

    MAX_SKEW = 300  # seconds a notify's timestamp may be off

    def __init__(self, name: str) -> None:
        self.name = name

    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout:
        return Checkout(code_url=f"/payments/sandbox/{order.out_trade_no}/")

    def notify_for(
        self, order: PaymentOrder, *, amount_fen: int | None = None, secret: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body the sandbox posts once the payer confirmed."""
        body = json.dumps(
            {
                "event_type": "TRANSACTION.SUCCESS",
                "resource": {
                    "out_trade_no": order.out_trade_no,
                    "transaction_id": f"SBX{order.pk:010d}{secrets.token_hex(4)}",
                    "trade_state": "SUCCESS",
                    "amount": {
                        "total": order.amount_fen if amount_fen is None else amount_fen,
                        "currency": "CNY",
                    },
                },
            },
            separators=(",", ":"),
        ).encode()
        ts = str(int(time.time()))
        nonce = secrets.token_hex(16)
        headers = {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": sandbox_sign(ts, nonce, body, secret),
        }
        return headers, body

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified:
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
            return Notified(
                out_trade_no=str(resource["out_trade_no"]),
                transaction_id=str(resource["transaction_id"]),
                amount_fen=int(resource["amount"]["total"]),
                success=resource.get("trade_state") == "SUCCESS",
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifyRejected("malformed body") from exc


class WeChatPayProvider:
    """WeChat Pay API v3, Native (QR) orders, through `wechatpayv3`."""

    name = "wechat"

    def __init__(self) -> None:
        from wechatpayv3 import WeChatPay, WeChatPayType

        cfg: dict[str, Any] = settings.QINGQUAN_WECHATPAY or {}
        self._type = WeChatPayType
        self._pay = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE,
            mchid=cfg["mchid"],
            private_key=cfg["private_key"],
            cert_serial_no=cfg["cert_serial_no"],
            apiv3_key=cfg["apiv3_key"],
            appid=cfg["appid"],
            notify_url=cfg["notify_url"],
            cert_dir=cfg.get("cert_dir"),
        )

    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout:
        code, message = self._pay.pay(
            description=description[:127],
            out_trade_no=order.out_trade_no,
            amount={"total": order.amount_fen, "currency": "CNY"},
            pay_type=self._type.NATIVE,
        )
        data = json.loads(message)
        if code != 200 or "code_url" not in data:
            raise RuntimeError(f"WeChat Pay: {code} {message[:200]}")
        return Checkout(code_url=data["code_url"])

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified:
        result = self._pay.callback(headers=headers, body=body.decode())
        if not result or result.get("event_type") != "TRANSACTION.SUCCESS":
            raise NotifyRejected("WeChat Pay callback not verified")
        resource: dict[str, Any] = result["resource"]
        return Notified(
            out_trade_no=resource["out_trade_no"],
            transaction_id=resource["transaction_id"],
            amount_fen=int(resource["amount"]["total"]),
            success=resource.get("trade_state") == "SUCCESS",
        )


class AlipayProvider:
    """Alipay face-to-face precreate (QR), through `python-alipay-sdk`."""

    name = "alipay"

    def __init__(self) -> None:
        from alipay import AliPay

        cfg: dict[str, Any] = settings.QINGQUAN_ALIPAY or {}
        self._notify_url = cfg["notify_url"]
        self._pay = AliPay(
            appid=cfg["appid"],
            app_notify_url=cfg["notify_url"],
            app_private_key_string=cfg["private_key"],
            alipay_public_key_string=cfg["alipay_public_key"],
            sign_type="RSA2",
        )

    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout:
        result = self._pay.api_alipay_trade_precreate(
            subject=description[:256],
            out_trade_no=order.out_trade_no,
            total_amount=str(order.amount),
            notify_url=self._notify_url,
        )
        if result.get("code") != "10000":
            raise RuntimeError(f"Alipay: {result}")
        return Checkout(code_url=result["qr_code"])

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified:
        from urllib.parse import parse_qsl

        data = dict(parse_qsl(body.decode()))
        signature = data.pop("sign", "")
        data.pop("sign_type", None)
        if not signature or not self._pay.verify(data, signature):
            raise NotifyRejected("Alipay notify not verified")
        try:
            fen = int((float(data["total_amount"]) * 100) + 0.5)
        except (KeyError, ValueError) as exc:
            raise NotifyRejected("malformed body") from exc
        return Notified(
            out_trade_no=data.get("out_trade_no", ""),
            transaction_id=data.get("trade_no", ""),
            amount_fen=fen,
            success=data.get("trade_status") in {"TRADE_SUCCESS", "TRADE_FINISHED"},
        )


def provider(name: str) -> PaymentProvider:
    """The provider `name` as configured: the real one where keys are set, else the
    sandbox (never in production)."""
    if name == "wechat" and getattr(settings, "QINGQUAN_WECHATPAY", None):
        return WeChatPayProvider()
    if name == "alipay" and getattr(settings, "QINGQUAN_ALIPAY", None):
        return AlipayProvider()
    if name not in {"wechat", "alipay"}:
        raise KeyError(name)
    if settings.QINGQUAN_ENV == "production":
        raise RuntimeError(f"payment provider {name} is not configured")
    return SandboxProvider(name)
