from __future__ import annotations

from typing import Any

import pytest

from qingquan.core import clock
from qingquan.telephony.flows import STANDARD_PROMPTS, standard_graph
from qingquan.telephony.models import IvrFlow, IvrFlowVersion, Prompt


@pytest.fixture
def standard_flow(db: Any) -> IvrFlow:
    """The standard flow and prompts as migration 0003 seeds them (a transactional test
    before this one may have flushed them)."""
    now = clock.now()
    flow, _ = IvrFlow.objects.get_or_create(
        slug="standard", defaults={"name": "标准流程", "created_at": now}
    )
    if not flow.versions.exists():
        IvrFlowVersion.objects.create(
            flow=flow, number=1, graph=standard_graph(), note="标准流程", created_at=now
        )
    for key, text in STANDARD_PROMPTS.items():
        Prompt.objects.get_or_create(key=key, defaults={"text": text, "updated_at": now})
    return flow
