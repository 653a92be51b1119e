from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """Online payment of bills: orders, providers (WeChat Pay, Alipay, local sandbox) and
    their verified, idempotent notify callbacks."""

    name = "qingquan.payments"
    label = "payments"
    verbose_name = _("Online payments")
