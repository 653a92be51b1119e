from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def gateway(settings: Any) -> Iterator[Any]:
    """The fake SMS gateway and WeChat server in a thread, the settings pointing at it."""
    from qingquan.messaging import gateways
    from qingquan.messaging.fake import FakeGateways

    fake = FakeGateways(receipts_to="", receipt_token="t").start()
    settings.MESSAGING = {
        **settings.MESSAGING,
        "SMS_ENDPOINT": f"{fake.url}/sms/",
        "WECHAT_ENDPOINT": f"{fake.url}/wechat/",
        "RECEIPT_TOKEN": "t",
        "QUIET_HOURS": (0, 0),
        "RATE_PER_SECOND": {"sms": 0, "wechat": 0, "email": 0},
        "BACKOFF_SECONDS": 10,
    }
    gateways.reset()
    yield fake
    fake.stop()
    gateways.reset()


@pytest.fixture
def social(gateway: Any, settings: Any) -> Iterator[Any]:
    """The fake gateways' Weibo and Alipay, the settings pointing at them."""
    from qingquan.messaging import gateways

    settings.MESSAGING = {
        **settings.MESSAGING,
        "WEIBO_ENDPOINT": f"{gateway.url}/weibo/",
        "WEIBO_ACCESS_TOKEN": "fake",
        "ALIPAY_LIFE_ENDPOINT": f"{gateway.url}/alipay/gateway.do",
        "ALIPAY_LIFE_APP_ID": "fake",
        "ALIPAY_LIFE_KEY": "fake",
        "RATE_PER_SECOND": {},
    }
    gateways.reset()
    yield gateway.social
    gateways.reset()
