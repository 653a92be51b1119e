from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _
from django_tasks_db import apps as tasks_db_apps


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

    def ready(self) -> None:
        super().ready()  # autodiscover: every app's admin module registers its screens
        from django.contrib import admin

        from qingquan.core.admin import guard_registry

        guard_registry(admin.site)


class AxesConfig(axes_apps.AppConfig):
    """django-axes (login lockouts) under a translated name in the admin."""

    default = False
    verbose_name = _("Login lockouts")


class TasksDatabaseConfig(tasks_db_apps.TasksAppConfig):
    """django-tasks' database backend (background task results) under a translated name."""

    default = False
    verbose_name = _("Background tasks")  # type: ignore[assignment]
