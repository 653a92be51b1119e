"""The migration that splits Open311 requests received before the public/private split: the
submitter's own text and address are published, their e-mail address kept apart."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from qingquan.partners import services
from qingquan.partners.models import PartnerCase
from qingquan.tickets.models import CaseKind

migration = importlib.import_module("qingquan.partners.migrations.0003_open311_public_fields")


def test_old_requests_publish_only_the_submitters_text(make_client: Any) -> None:
    client, _key = make_client()
    kind = CaseKind.objects.filter(is_active=True, parent__isnull=False).first()
    assert kind is not None
    old, _ = services.partner_case_create(
        client=client,
        kind=kind,
        subject="人行道下漏水",
        # What the intake used to write: the submitter's text, then private details.
        description="人行道下漏水\n已经两天\n电子邮箱：wang@example.com\n位置：29.86, 121.54\n"
        "反映人希望的答复方式: sms",
        address="海曙区中山西路 1 号",
        source=PartnerCase.Source.OPEN311,
    )
    migration.split_open311(apps, None)
    old.refresh_from_db()
    assert old.public_description == "人行道下漏水\n已经两天"
    assert old.public_address == "海曙区中山西路 1 号"
    assert old.submitter_email == "wang@example.com"
