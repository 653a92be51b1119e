from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    """Interruption notices (供水信息发布): planned and unplanned interruptions, low
    pressure and water quality, published to exactly the customers affected (R-PUB-1/2)."""

    name = "qingquan.notices"
    label = "notices"
    verbose_name = _("Interruption notices")
