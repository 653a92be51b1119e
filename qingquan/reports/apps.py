from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """Statistics (统计分析): KPI rollups, charts, drill-down, exports, public commitments."""

    name = "qingquan.reports"
    label = "reports"
    verbose_name = _("Statistics")

    def ready(self) -> None:
        from qingquan.reports import signals  # noqa: F401
