"""A staff member saved or deleted: the cached lists of who holds each capability
(`selectors.holders`) are read again at the next push."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from qingquan.staff.access import CAPABILITIES
from qingquan.staff.selectors import holders_key


@receiver(post_save, sender="staff.User", dispatch_uid="staff_holders_changed")
@receiver(post_delete, sender="staff.User", dispatch_uid="staff_holders_deleted")
def holders_changed(sender: Any, **kwargs: Any) -> None:
    cache.delete_many([holders_key(name) for name in CAPABILITIES])
