"""The staff roles. Which role may do what is decided in `qingquan.staff.access`."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """A staff member's job on the platform (one per account)."""

    AGENT = "agent", _("Agent")  # 话务员
    SUPERVISOR = "supervisor", _("Shift supervisor")  # 班长
    DISPATCHER = "dispatcher", _("Dispatcher")  # 调度员
    CREW = "crew", _("Crew member")  # 抢修人员
    BACK_OFFICE = "back_office", _("Back office")  # 业务部门
    CUSTOMER_MANAGER = "customer_manager", _("Customer manager")  # 客服经理
    ADMINISTRATOR = "administrator", _("Administrator")  # 系统管理员


class DepartmentKind(models.TextChoices):
    """What a department does; cases are routed to departments by kind."""

    HOTLINE = "hotline", _("Hotline centre")
    REPAIR = "repair", _("Network repair")
    BILLING = "billing", _("Billing")
    METERING = "metering", _("Metering")
    CONNECTIONS = "connections", _("Connections")
    CUSTOMER_SERVICE = "customer_service", _("Customer managers")
    IT = "it", _("Information technology")
