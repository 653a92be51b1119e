from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    """The knowledge base agents answer from (R-INTAKE-5): articles by topic, Chinese
    full-text search, proposed edits published by supervisors, links from cases."""

    name = "qingquan.knowledge"
    label = "knowledge"
    verbose_name = _("Knowledge base")
