from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AreasConfig(AppConfig):
    """The city's administrative areas: districts, streets (街道/镇) and communities."""

    name = "qingquan.areas"
    label = "areas"
    verbose_name = _("Areas")
