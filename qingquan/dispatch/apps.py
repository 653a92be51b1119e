from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    """Repair dispatch (管网抢修调度): repair jobs for crews on the pipe network, the
    dispatcher's board, the crew app (R-REP-1/2)."""

    name = "qingquan.dispatch"
    label = "dispatch"
    verbose_name = _("Repair dispatch")

    def ready(self) -> None:
        from qingquan.core import outbox
        from qingquan.dispatch import signals  # noqa: F401  (receivers)
        from qingquan.dispatch.models import CrewMessage
        from qingquan.dispatch.services import crew_messages_send
        from qingquan.dispatch.timeline import register_labels

        outbox.register("dispatch.crew_messages", model=CrewMessage, send=crew_messages_send)
        register_labels()
