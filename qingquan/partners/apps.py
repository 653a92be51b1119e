from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    """Open APIs for partner systems: API clients and keys, idempotent case intake, signed
    webhooks and the provincial-platform connector (R-CH-1, R-CH-2)."""

    name = "qingquan.partners"
    label = "partners"
    verbose_name = _("Partner integrations")

    def ready(self) -> None:
        from qingquan.core import outbox
        from qingquan.partners import signals  # (connects the event listener)
        from qingquan.partners.models import Delivery
        from qingquan.partners.webhooks import send_claimed

        signals.connect_key_cache()
        outbox.register("partners.webhooks", model=Delivery, send=send_claimed)
