"""Payment providers behind one interface: `checkout(order)` gives what the payer scans
or opens; `verify_notify(headers, body)` checks a notify callback's signature and reads
it. The sandbox speaks a WeChat-Pay-v3-like protocol (JSON body, HMAC-SHA256 signature
over timestamp, nonce and body in the `Wechatpay-*` headers); the real adapters use the
providers' SDKs (`wechatpayv3`, `python-alipay-sdk`) when those are installed and keys
are configured."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from qingquan.payments.models import PaymentOrder, Refund


class NotifyRejected(Exception):
    """A notify whose signature or form is wrong (answered 4xx, nothing recorded)."""


@dataclass(frozen=True)
class Checkout:
    code_url: str  # what the QR code encodes (Native / precreate); JSAPI: "prepay_id=…"
    js_params: dict[str, str] | None = None  # JSAPI: what WeixinJSBridge is given


@dataclass(frozen=True)
class Notified:
    out_trade_no: str
    transaction_id: str
    amount_fen: int
    success: bool


@dataclass(frozen=True)
class RefundNotified:
    out_trade_no: str
    out_refund_no: str
    refund_id: str
    amount_fen: int
    success: bool


@dataclass(frozen=True)
class RefundAccepted:
    refund_id: str
    done: bool  # refunded at once (Alipay): no notify follows


class ProviderError(Exception):
    """The provider refused a request (shown to staff; nothing is recorded)."""


class PaymentProvider(Protocol):
    name: str

    def checkout(self, order: PaymentOrder, *, description: str) -> Checkout: ...

    def jsapi(self, order: PaymentOrder, *, openid: str, description: str) -> Checkout: ...

    def refund(self, refund: Refund) -> RefundAccepted: ...

    def statement(self, day: dt.date) -> str: ...

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified | RefundNotified: ...


class WeChatPayProvider:
    """WeChat Pay API v3, Native (QR) orders, through `wechatpayv3`."""

    name = "wechat"

    def __init__(self) -> None:
        from wechatpayv3 import WeChatPay, WeChatPayType

        cfg: dict[str, Any] = settings.QINGQUAN_WECHATPAY or {}
        self._type = WeChatPayType
        self._appid = cfg["appid"]
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

    def jsapi(self, order: PaymentOrder, *, openid: str, description: str) -> Checkout:
        """A JSAPI order (inside WeChat): the prepay id, and the parameters signed with the
        merchant's key that the page hands to WeixinJSBridge."""
        code, message = self._pay.pay(
            description=description[:127],
            out_trade_no=order.out_trade_no,
            amount={"total": order.amount_fen, "currency": "CNY"},
            payer={"openid": openid},
            pay_type=self._type.JSAPI,
        )
        data = json.loads(message)
        if code != 200 or "prepay_id" not in data:
            raise ProviderError(f"WeChat Pay: {code} {message[:200]}")
        params = {
            "appId": self._appid,
            "timeStamp": str(int(time.time())),
            "nonceStr": secrets.token_hex(16),
            "package": f"prepay_id={data['prepay_id']}",
            "signType": "RSA",
        }
        params["paySign"] = self._pay.sign(
            [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]]
        )
        return Checkout(code_url=params["package"], js_params=params)

    def refund(self, refund: Refund) -> RefundAccepted:
        code, message = self._pay.refund(
            out_refund_no=refund.out_refund_no,
            amount={
                "refund": refund.amount_fen,
                "total": refund.order.amount_fen,
                "currency": "CNY",
            },
            out_trade_no=refund.order.out_trade_no,
            reason=refund.reason[:80],
        )
        data = json.loads(message)
        if code not in (200, 201) or "refund_id" not in data:
            raise ProviderError(f"WeChat Pay: {code} {message[:200]}")
        return RefundAccepted(refund_id=data["refund_id"], done=data.get("status") == "SUCCESS")

    def statement(self, day: dt.date) -> str:
        code, message = self._pay.trade_bill(bill_date=day.isoformat(), bill_type="ALL")
        if code != 200:
            raise ProviderError(f"WeChat Pay: {code} {message[:200]}")
        code, content = self._pay.download_bill(json.loads(message)["download_url"])
        if code != 200:
            raise ProviderError(f"WeChat Pay: statement download {code}")
        return content.decode("utf-8-sig") if isinstance(content, bytes) else str(content)

    def verify_notify(self, headers: dict[str, str], body: bytes) -> Notified | RefundNotified:
        result = self._pay.callback(headers=headers, body=body.decode())
        if not result:
            raise NotifyRejected("WeChat Pay callback not verified")
        resource: dict[str, Any] = result["resource"]
        if str(result.get("event_type", "")).startswith("REFUND."):
            return RefundNotified(
                out_trade_no=resource["out_trade_no"],
                out_refund_no=resource["out_refund_no"],
                refund_id=resource["refund_id"],
                amount_fen=int(resource["amount"]["refund"]),
                success=resource.get("refund_status") == "SUCCESS",
            )
        if result.get("event_type") != "TRANSACTION.SUCCESS":
            raise NotifyRejected("WeChat Pay callback of an unknown event")
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

    def jsapi(self, order: PaymentOrder, *, openid: str, description: str) -> Checkout:
        raise ProviderError("Alipay has no WeChat JSAPI payment")

    def refund(self, refund: Refund) -> RefundAccepted:
        """Alipay refunds at once (no notify): the answer says whether money moved."""
        result = self._pay.api_alipay_trade_refund(
            refund_amount=str(refund.amount),
            out_trade_no=refund.order.out_trade_no,
            out_request_no=refund.out_refund_no,
            refund_reason=refund.reason[:80],
        )
        if result.get("code") != "10000":
            raise ProviderError(f"Alipay: {result}")
        return RefundAccepted(refund_id=str(result.get("trade_no", "")), done=True)

    def statement(self, day: dt.date) -> str:
        raise ProviderError(
            "Alipay statements come as a zip of GBK CSV files: convert them to the "
            "trade-bill CSV and pass them with payments_reconcile --file"
        )

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


from qingquan.payments.sandbox import (  # noqa: E402  (the sandbox uses the types above)
    SandboxProvider,
    sandbox_secret,
    sandbox_sign,
)

__all__ = ["SandboxProvider", "sandbox_secret", "sandbox_sign"]
