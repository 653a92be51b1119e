from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """The customer registry and water bills: customers, premises, accounts, meters,
    readings, tariffs, bills, payments and invoices."""

    name = "qingquan.customers"
    label = "customers"
    verbose_name = _("Customers and bills")

    def ready(self) -> None:
        from qingquan.core import audit
        from qingquan.customers import privacy

        if privacy.audit_snapshot_shown not in audit.snapshot_shown:
            audit.snapshot_shown.append(privacy.audit_snapshot_shown)
