from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The agent console (screen pop, fast intake, case search, notes and attachments) and
    the supervisors' live wallboard."""

    name = "qingquan.console"
    label = "console"
    verbose_name = _("Agent console")
