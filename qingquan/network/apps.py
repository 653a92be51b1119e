from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NetworkConfig(AppConfig):
    """The pipe network (管网): junctions, pipes, valves and sources placed over Ningbo,
    the valve-bounded segments and the isolation plan of a burst (R-REP-1/2, R-PUB-1/2)."""

    name = "qingquan.network"
    label = "network"
    verbose_name = _("Pipe network")

    def ready(self) -> None:
        from qingquan.network import signals  # noqa: F401  (premise changes re-attach)
