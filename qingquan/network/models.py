"""The pipe network (管网) as records: nodes (junctions, tanks, reservoirs), links (pipes,
pumps, control valves), isolation valves, pressure zones, and each premise's connection.

Geometry is WGS84 longitude/latitude stored as floats (no GIS extension needed). Every
element keeps the id it has in the EPANET file (`eid`), so that a revised file re-imported
updates elements by id. `segment` on nodes and links is the label of the valve-bounded
segment the element lies in (see `segments.py`): the smallest pipe pk of the segment, or
minus the node's pk for a segment without pipes; it is rewritten by
`services.segments_recompute` when valves or pipes change.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    JUNCTION = "junction", _("Junction")
    TANK = "tank", _("Tank")
    RESERVOIR = "reservoir", _("Reservoir")


SOURCE_KINDS = (NodeKind.TANK, NodeKind.RESERVOIR)


class LinkKind(models.TextChoices):
    PIPE = "pipe", _("Pipe")
    PUMP = "pump", _("Pump")
    VALVE = "valve", _("Control valve")


class PipeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    CHECK_VALVE = "cv", _("Check valve")


class ValveState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    INOPERABLE = "inoperable", _("Inoperable")


class ValveSource(models.TextChoices):
    FILE = "file", _("From the network file")
    CSV = "csv", _("From a valve-layer file")
    STRATEGIC = "strategic", _("Strategic valve layer (WNTR)")
    MANUAL = "manual", _("Added by hand")


class PressureZone(models.Model):
    """A pressure zone: the part of the network fed without crossing a pump or a control
    valve (computed at import; named Z01, Z02 … by size)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("pressure zone")
        verbose_name_plural = _("pressure zones")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Node(models.Model):
    """A junction, or a source (tank or reservoir), at a WGS84 point."""

    eid = models.CharField(_("network id"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=NodeKind.choices)
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))
    elevation = models.FloatField(_("elevation (m)"), default=0)
    zone = models.ForeignKey(
        PressureZone,
        verbose_name=_("pressure zone"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="nodes",
    )
    segment = models.IntegerField(_("segment"), default=0, db_index=True)
    # The street (街道) most premises around this junction belong to (streets have no
    # outline of their own): set by `services.premises.junction_streets_assign`.
    street = models.ForeignKey(
        "areas.Street",
        verbose_name=_("street"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("network node")
        verbose_name_plural = _("network nodes")
        ordering = ["eid"]

    def __str__(self) -> str:
        return self.eid

    @property
    def is_source(self) -> bool:
        return self.kind in SOURCE_KINDS


class Pipe(models.Model):
    """A link between two nodes: a pipe (or a pump or control valve, which the segments
    and the map treat as links too). `vertices` are the bends between its ends as
    [[lon, lat], …]; the bounding box columns serve the map's viewport queries."""

    eid = models.CharField(_("network id"), max_length=40, unique=True)
    kind = models.CharField(
        _("kind"), max_length=8, choices=LinkKind.choices, default=LinkKind.PIPE
    )
    start = models.ForeignKey(
        Node, verbose_name=_("start node"), on_delete=models.PROTECT, related_name="+"
    )
    end = models.ForeignKey(
        Node, verbose_name=_("end node"), on_delete=models.PROTECT, related_name="+"
    )
    diameter_mm = models.FloatField(_("diameter (mm)"), default=0)
    length_m = models.FloatField(_("length (m)"), default=0)
    material = models.CharField(_("material"), max_length=40, blank=True)
    install_year = models.PositiveSmallIntegerField(_("install year"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=PipeStatus.choices, default=PipeStatus.OPEN
    )
    roughness = models.FloatField(_("roughness"), default=0)
    vertices = models.JSONField(_("vertices"), default=list, blank=True)
    min_lon = models.FloatField(db_index=True)
    max_lon = models.FloatField()
    min_lat = models.FloatField(db_index=True)
    max_lat = models.FloatField()
    segment = models.IntegerField(_("segment"), default=0, db_index=True)

    class Meta:
        verbose_name = _("pipe")
        verbose_name_plural = _("pipes")
        ordering = ["eid"]

    def __str__(self) -> str:
        return self.eid


class Valve(models.Model):
    """An isolation valve on a pipe next to one of its end nodes. Closing it cuts the pipe
    off from that node. An inoperable valve cannot be closed, so the segments ignore it
    (the segment around it is wider and the next valves outward close instead)."""

    eid = models.CharField(_("valve id"), max_length=60, unique=True)
    pipe = models.ForeignKey(
        Pipe, verbose_name=_("pipe"), on_delete=models.CASCADE, related_name="valves"
    )
    node = models.ForeignKey(
        Node, verbose_name=_("next to node"), on_delete=models.CASCADE, related_name="valves"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=ValveState.choices, default=ValveState.OPEN
    )
    source = models.CharField(_("source"), max_length=12, choices=ValveSource.choices)
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))

    class Meta:
        verbose_name = _("valve")
        verbose_name_plural = _("valves")
        ordering = ["eid"]
        constraints = [
            models.UniqueConstraint(fields=["pipe", "node"], name="network_valve_pipe_node")
        ]

    def __str__(self) -> str:
        return self.eid


class ConnectionMatch(models.TextChoices):
    STREET = "street", _("Nearest junction on its own street")
    NEAREST = "nearest", _("Nearest junction (none on its street within reach)")


class PremiseConnection(models.Model):
    """Which network node supplies a premise: the nearest junction on the premise's own
    street (a junction's street: `Node.street`) within `NETWORK_CONNECTION_MAX_M`, else
    the nearest junction within it (`match` says which); recomputed when the premise
    moves or the network is imported. Premises farther from every junction have no row."""

    premise = models.OneToOneField(
        "customers.Premise",
        verbose_name=_("premise"),
        on_delete=models.CASCADE,
        related_name="network_connection",
    )
    node = models.ForeignKey(
        Node, verbose_name=_("node"), on_delete=models.CASCADE, related_name="connections"
    )
    distance_m = models.FloatField(_("distance (m)"))
    match = models.CharField(
        _("attached to"),
        max_length=8,
        choices=ConnectionMatch.choices,
        default=ConnectionMatch.NEAREST,
    )

    class Meta:
        verbose_name = _("premise connection")
        verbose_name_plural = _("premise connections")

    def __str__(self) -> str:
        return f"{self.premise_id} → {self.node_id}"


class NetworkImport(models.Model):
    """One import of an EPANET file: what it added, changed and removed, and where its
    valves came from (the record the audit event names)."""

    at = models.DateTimeField(_("imported at"))
    file_name = models.CharField(_("file"), max_length=255)
    valve_source = models.CharField(_("valves from"), max_length=12, choices=ValveSource.choices)
    transform = models.CharField(_("placement"), max_length=255, blank=True)
    counts = models.JSONField(_("counts"), default=dict)
    report = models.TextField(_("report"), blank=True)
    # The file itself: the hydraulic simulations start from it (demands, curves, tanks).
    source_text = models.TextField(_("network file"), blank=True, editable=False)

    class Meta:
        verbose_name = _("network import")
        verbose_name_plural = _("network imports")
        ordering = ["-at"]

    def __str__(self) -> str:
        return self.file_name


class NetworkState(models.Model):
    """One row: a version number raised by every change to the network, with a random
    stamp, so that each process's cached graph (`graph.current`) knows when to reload
    (the stamp also tells apart two networks that reached the same version, e.g. after a
    rolled-back import)."""

    version = models.PositiveIntegerField(default=0)
    stamp = models.CharField(max_length=32, default="")

    class Meta:
        verbose_name = _("network state")
        verbose_name_plural = _("network state")

    def __str__(self) -> str:
        return f"v{self.version} ({self.stamp})"


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class HydraulicRun(models.Model):
    """WNTR's pressure-dependent simulation of an isolation plan, kept by its inputs.

    `key` digests the inputs (the network's stamp, the valves closed, the threshold), so
    two pipes of one segment share a run and any change to the network makes a new one. A
    run with no valves (`is_baseline`) holds every junction's pressure as the network is
    (`pressures`), shared by the plans of that network version. `low_junctions` lists the
    junctions outside the isolated area whose pressure falls below `threshold_m` (and was
    above it before) as [eid, pressure before, pressure after]; `premises` and `accounts`
    count who is attached to them. Written only by `tasks.hydraulic_simulate`.
    """

    key = models.CharField(_("key"), max_length=64, unique=True)
    network_stamp = models.CharField(_("network version"), max_length=32)
    pipe = models.CharField(_("pipe"), max_length=40, blank=True)
    segment = models.IntegerField(_("segment"), null=True, blank=True)
    closed_valves = models.JSONField(_("valves closed"), default=list)
    threshold_m = models.FloatField(_("pressure threshold (m)"))
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    requested_at = models.DateTimeField(_("requested at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    pressures = models.JSONField(_("pressures"), default=dict, blank=True)
    low_junctions = models.JSONField(_("low-pressure junctions"), default=list, blank=True)
    premises = models.PositiveIntegerField(_("premises"), default=0)
    accounts = models.PositiveIntegerField(_("accounts"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("hydraulic simulation")
        verbose_name_plural = _("hydraulic simulations")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.pipe or 'baseline'} ({self.get_status_display()})"

    @property
    def is_baseline(self) -> bool:
        return not self.closed_valves and not self.pipe

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.DONE, RunStatus.FAILED)


class LocationSource(models.TextChoices):
    PIN = "pin", _("Map pin on intake")
    PREMISE = "premise", _("The case's premise")
    ADDRESS = "address", _("A premise with the case's address")


class CaseLocation(models.Model):
    """Where a repair case is on the network: its point (a pin dropped on intake, its
    premise, or a premise found by its address), the pipe nearest that point and that
    pipe's segment (kept current by `services.case_locations_refresh` when the segments
    move; a pipe removed by a re-import leaves `pipe` empty until the case is matched
    again). Kept here, one-to-one with the case, so that `tickets` knows nothing of the
    network."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="network_location",
    )
    longitude = models.FloatField(_("longitude"))
    latitude = models.FloatField(_("latitude"))
    source = models.CharField(_("located by"), max_length=8, choices=LocationSource.choices)
    pipe = models.ForeignKey(
        Pipe,
        verbose_name=_("nearest pipe"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="case_locations",
    )
    segment = models.IntegerField(_("segment"), null=True, blank=True, db_index=True)
    distance_m = models.FloatField(_("distance to the pipe (m)"), null=True, blank=True)
    located_at = models.DateTimeField(_("located at"))

    class Meta:
        verbose_name = _("case location")
        verbose_name_plural = _("case locations")

    def __str__(self) -> str:
        return f"{self.ticket_id} @ {self.pipe_id}"
