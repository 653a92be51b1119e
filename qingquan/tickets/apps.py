from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    """Cases (工单): intake, first-contact ownership, hand-offs, time limits, merging."""

    name = "qingquan.tickets"
    label = "tickets"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from qingquan.tickets import reference  # noqa: F401  (kind/policy edit receivers)
