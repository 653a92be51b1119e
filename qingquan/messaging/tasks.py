"""Periodic messaging work: the poll of Weibo and the Alipay life account."""

from __future__ import annotations

from django_tasks import task

from qingquan.core.periodic import every


@every(60)
@task()
def poll_social() -> int:
    """Take the new messages and mentions of every configured platform (each minute);
    returns how many were new."""
    from qingquan.messaging.poller import poll_all

    return sum(p.taken for p in poll_all())
