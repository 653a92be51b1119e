"""What the demo prints for the online service hall: the demo resident's phone, where
the fake SMS gateway shows the code, and the account to bind."""

from __future__ import annotations

from qingquan.customers.demo import DEMO_PHONE

DEMO_ACCOUNT = "3301000001"
DEMO_HOLDER = "李桂英"


def portal_demo_lines(base_url: str) -> list[str]:
    return [
        "\n网上营业厅 Online service hall (residents) / 居民登录",
        f"  {base_url}/portal/login/  phone 手机 {DEMO_PHONE}",
        f"  code 验证码: {base_url}/portal/demo-sms/?phone={DEMO_PHONE}  (fake SMS gateway)",
        f"  bind 绑定: account 户号 {DEMO_ACCOUNT}, holder 户主 {DEMO_HOLDER}",
        f"  pay 缴费: WeChat Pay / Alipay sandbox at {base_url}/payments/sandbox/…",
    ]
