from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """Staff accounts, roles, departments, teams and shifts; who may do what."""

    name = "qingquan.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        from qingquan.staff import signals  # noqa: F401 (registers the receivers)
