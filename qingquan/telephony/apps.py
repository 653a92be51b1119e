from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    """Call events from the phone system (CTI webhook), calls, agent states, blocked numbers."""

    name = "qingquan.telephony"
    label = "telephony"
    verbose_name = _("Telephony")
