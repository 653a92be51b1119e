from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    """Open311 GeoReport v2 for government platforms, on top of the partner clients."""

    name = "qingquan.open311"
    label = "open311"
    verbose_name = _("Open311 GeoReport v2")
