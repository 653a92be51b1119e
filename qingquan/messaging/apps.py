from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    """Outbound messages (SMS, WeChat template messages, e-mail): one outbox for every
    channel, gateways behind one interface, delivery receipts and opt-outs (R-CH-1)."""

    name = "qingquan.messaging"
    label = "messaging"
    verbose_name = _("Outbound messages")

    def ready(self) -> None:
        from qingquan.core import outbox
        from qingquan.messaging.models import Message
        from qingquan.messaging.sender import send_claimed

        # A claimed batch sent as one group: two UPDATEs per hundred messages rather than
        # per twenty keep a worker at the provider's rate (185/s of 200/s with twenty).
        outbox.register("messages", model=Message, send=send_claimed, group=outbox.BATCH)
