"""Demo data for telephony: one phone system with a known token, for the call simulator."""

from __future__ import annotations

from qingquan.core.actors import system
from qingquan.telephony.models import Pbx

# Public on purpose: demo data is never loaded in production (core.demo refuses).
DEMO_PBX_TOKEN = "demo-pbx-96390-qingquan-simulator"
DEMO_PBX_NAME = "演示交换机 Demo PBX"


def seed_telephony() -> Pbx:
    """The demo PBX the simulator posts as (idempotent)."""
    from qingquan.telephony.services import pbx_create

    existing = Pbx.objects.filter(name=DEMO_PBX_NAME).first()
    if existing is not None:
        return existing
    pbx, _token = pbx_create(actor=system("demo"), name=DEMO_PBX_NAME, token=DEMO_PBX_TOKEN)
    return pbx
