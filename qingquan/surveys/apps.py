from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    """Follow-up callbacks (回访): tasks for case owners, outcomes, public survey links."""

    name = "qingquan.surveys"
    label = "surveys"
    verbose_name = _("Callbacks")

    def ready(self) -> None:
        from qingquan.surveys import signals  # noqa: F401
