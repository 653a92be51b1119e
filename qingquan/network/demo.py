"""The demo network: one of the EPANET networks WNTR ships (Net6 by default: 3,356 nodes,
3,892 links, 32 tanks and a reservoir) placed over central Ningbo (海曙, 江北 and the
north of 鄞州), with WNTR's strategic N-1 valve layer, a few valves reported inoperable,
pipe materials by diameter, and the demo's premises attached to their nearest junction.
A few attached customers are marked critical (hospitals, large industrial users,
registered elderly and home-dialysis customers), so that plans show them.

`QINGQUAN_DEMO_NETWORK` names the file (tests use the small Net3).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from qingquan.core.actors import system
from qingquan.network import services
from qingquan.network.models import Pipe, Valve, ValveState

CENTRE = (121.553, 29.868)  # between 海曙 and 江北, over the 三江口
EXTENT_KM = {"Net6": 13.0, "ky10": 12.0, "Net3": 6.0}
INOPERABLE_EVERY = 150  # one valve in 150 reported stuck (found on a real exercise)


def library_file(name: str) -> Path:
    import wntr

    return Path(wntr.__file__).parent / "library" / "networks" / f"{name}.inp"


def _material(diameter_mm: float) -> str:
    if diameter_mm >= 600:
        return "PCCP"
    if diameter_mm >= 300:
        return "DI"
    if diameter_mm >= 100:
        return "DI" if int(diameter_mm) % 2 else "PE"
    return "PE"


def _with_tags(source: Path, target: Path) -> None:
    """A copy of the file with a [TAGS] section: each pipe's material by diameter (the
    EPANET files WNTR ships carry none; the import reads a link's tag as its material)."""
    import wntr

    model = wntr.network.WaterNetworkModel(str(source))
    lines = ["[TAGS]"]
    for name, link in model.links():
        if link.link_type == "Pipe":
            lines.append(f" LINK {name} {_material(link.diameter * 1000)}")
    text = source.read_text(encoding="utf-8", errors="replace")
    marker = "[END]"
    cut = text.rfind(marker)
    head = text[:cut] if cut >= 0 else text
    target.write_text(head.rstrip() + "\n\n" + "\n".join(lines) + "\n\n[END]\n", encoding="utf-8")


def seed_network() -> services.ImportReport | None:
    """Import the demo network (nothing when a network is already there)."""
    if Pipe.objects.exists():
        return None
    name = getattr(settings, "QINGQUAN_DEMO_NETWORK", "Net6")
    actor = system("demo")
    with tempfile.TemporaryDirectory() as folder:
        tagged = Path(folder) / f"{name}.inp"
        _with_tags(library_file(name), tagged)
        report = services.network_import(
            actor=actor,
            path=tagged,
            place_at=CENTRE,
            extent_km=EXTENT_KM.get(name, 10.0),
            valves="strategic",
            per_node=1,
            seed=96390,
        )
    stuck = list(Valve.objects.order_by("pk").values_list("pk", flat=True)[::INOPERABLE_EVERY])
    services.valves_set_state(actor=actor, valve_ids=stuck, state=ValveState.INOPERABLE)
    mark_critical(actor)
    return report


def mark_critical(actor: object, per_kind: int = 3) -> int:
    """Mark a few customers attached to the network as critical: organisations named as
    hospitals, manufacturers (large industrial users), and elderly or impaired persons
    (registered elderly, one on home dialysis). Returns how many were marked."""
    from qingquan.customers.critical import customer_critical_set
    from qingquan.customers.models import CriticalKind, Customer, CustomerKind

    attached = Customer.objects.filter(
        accounts__premise__network_connection__isnull=False, critical_kind=""
    ).distinct()
    orgs = attached.filter(kind=CustomerKind.ORGANISATION)
    choices = [
        (orgs.filter(name__contains="医院"), [CriticalKind.HOSPITAL]),
        (
            orgs.filter(Q(name__contains="机械") | Q(name__contains="纸业")),
            [CriticalKind.INDUSTRIAL],
        ),
        (
            attached.filter(kind=CustomerKind.PERSON, elderly_or_impaired=True),
            [CriticalKind.DIALYSIS, CriticalKind.ELDERLY, CriticalKind.ELDERLY],
        ),
    ]
    marked = 0
    for customers, kinds in choices:
        chosen = customers.order_by("pk")[:per_kind]
        for customer, kind in zip(chosen, kinds * per_kind, strict=False):
            customer_critical_set(actor=actor, customer=customer, kind=kind)
            marked += 1
    return marked
