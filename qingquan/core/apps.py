from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """Shared bits: the clock, the audit log, the working-day calendar, demo seeding."""

    default = True
    name = "qingquan.core"
    label = "core"
    verbose_name = _("Core")


class QingquanAdminConfig(admin_apps.AdminConfig):
    """The Django admin, behind our role capabilities instead of model permissions."""

    default = False
    default_site = "qingquan.core.admin_site.QingquanAdminSite"
