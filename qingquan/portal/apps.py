from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The online service hall (网上营业厅) for residents and enterprises: its own URL
    prefix (/portal/), base template, login (phone + SMS code) and session cookie, apart
    from the staff screens (R-CH-1/3, R-INTAKE-6)."""

    name = "qingquan.portal"
    label = "portal"
    verbose_name = _("Online service hall")
