from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    """New connections (报装) on the "221" standard (R-CON-1..7): applications, the
    steps and their working-day clock, customer-side pauses, works fees paid by QR, the
    customer manager from application to water on."""

    name = "qingquan.connections"
    label = "connections"
    verbose_name = _("New connections")

    def ready(self) -> None:
        from qingquan.connections.services.fees import fee_payment_notified
        from qingquan.payments import services as payments

        payments.paid_hooks.append(fee_payment_notified)

        # Applications from the provincial platform through the partner connector.
        from qingquan.connections.partner_api import mount

        mount()
