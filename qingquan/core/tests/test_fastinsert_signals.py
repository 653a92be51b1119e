"""`fastinsert.create(..., signals=True)` writes the row as `save()` would and sends the
same signals, so apps listening to the case, its contact and its timeline entry still
hear of them when intake uses the precompiled INSERT (issue #12)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models.signals import post_save, pre_save

from qingquan.core import clock
from qingquan.core.db import fastinsert
from qingquan.tickets.models import Channel, Contact

pytestmark = pytest.mark.django_db


def test_signals_are_sent_around_the_insert():
    heard: list[tuple[str, Any, Any]] = []

    def before(sender: Any, instance: Contact, **kwargs: Any) -> None:
        heard.append(("pre", instance.pk, kwargs["raw"]))

    def after(sender: Any, instance: Contact, created: bool, **kwargs: Any) -> None:
        heard.append(("post", instance.pk, created))

    pre_save.connect(before, sender=Contact, dispatch_uid="test-fast-pre")
    post_save.connect(after, sender=Contact, dispatch_uid="test-fast-post")
    try:
        contact = Contact(channel=Channel.PHONE, from_address="13800000000", started_at=clock.now())
        assert fastinsert.create(contact, signals=True) is contact
    finally:
        pre_save.disconnect(dispatch_uid="test-fast-pre", sender=Contact)
        post_save.disconnect(dispatch_uid="test-fast-post", sender=Contact)
    assert heard == [("pre", None, False), ("post", contact.pk, True)]
    stored = Contact.objects.get(pk=contact.pk)
    assert stored.from_address == "13800000000"
    assert not contact._state.adding


def test_without_signals_nobody_hears():
    heard: list[Any] = []

    def after(sender: Any, **kwargs: Any) -> None:
        heard.append(kwargs)

    post_save.connect(after, sender=Contact, dispatch_uid="test-fast-silent")
    try:
        fastinsert.create(Contact(channel=Channel.PHONE, started_at=clock.now()))
    finally:
        post_save.disconnect(dispatch_uid="test-fast-silent", sender=Contact)
    assert heard == []
