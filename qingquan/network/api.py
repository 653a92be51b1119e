"""The pipe network over HTTP: /api/v1/network/… (mounted in qingquan.api).

GeoJSON of pipes, valves and sources in a bounding box; the isolation plan of a pipe or
a point; the accounts a plan leaves without water (paged). Staff holding `network.view`
(dispatchers, crews, supervisors, administrators) read them; customers' names are shown
in full only to roles with `customers.view`. A refused request answers 403, an unknown
pipe 404, a point too far from every pipe or bad input 422, with ``detail``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.errors import HttpError

from qingquan.network import selectors, services
from qingquan.network.models import HydraulicRun
from qingquan.staff.access import check

router: Router = Router(tags=["network"])


class PlanParams(Schema):
    pipe: str | None = Field(None, max_length=40, description="A pipe's network id")
    lon: float | None = Field(None, ge=-180, le=180, description="Or a point: longitude")
    lat: float | None = Field(None, ge=-90, le=90, description="… and latitude")


class AccountsParams(PlanParams):
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(50, ge=1, le=500)


class ValveOut(Schema):
    id: str
    pipe: str
    node: str
    state: str
    lon: float
    lat: float


class AreaOut(Schema):
    district: str
    street: str
    premises: int
    accounts: int


class CriticalOut(Schema):
    kind: str = Field(description="hospital, school, care_home, elderly, dialysis, industrial")
    kind_label: str
    customer: str = Field(description="Masked (张**) for roles without customers.view")
    account: str
    address: str


class PlanOut(Schema):
    pipe: str = Field(description="The pipe isolated (the nearest one to a point)")
    snapped_m: float | None = Field(description="Distance from the point to that pipe")
    segment: int
    valves_to_close: list[ValveOut]
    valves_already_closed: list[ValveOut]
    inoperable_valves: list[ValveOut] = Field(
        description="Inoperable valves inside: why the segment reaches the next valves out"
    )
    segment_pipes: list[str]
    segment_junctions: list[str]
    segment_length_m: float
    cut_off_junctions: list[str] = Field(
        description="Junctions no source reaches once the valves are closed"
    )
    cut_off_pipes: int
    whole_zone: bool = Field(
        description="No valve between the pipe and a source (or none at all): the whole "
        "zone is shut"
    )
    premises: int
    accounts: int
    care_customers: int = Field(description="Elderly or impaired customers affected")
    non_residential_accounts: int
    critical_customers_count: int = Field(
        description="Critical customers affected (hospitals, schools, care homes, registered "
        "elderly or home-dialysis customers, large industrial users)"
    )
    critical_customers: list[CriticalOut] = Field(description="The first 100 of them")
    by_area: list[AreaOut]


class PlanAccountOut(Schema):
    number: str
    customer: str
    address: str
    district: str
    kind: str
    care: bool
    critical: str = Field(description="Kind of critical customer (a label), or empty")


class AccountsOut(Schema):
    total: int
    page: int
    page_size: int
    accounts: list[PlanAccountOut]


def _bbox(text: str) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise HttpError(422, "bbox is west,south,east,north in degrees") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise HttpError(422, "bbox is west,south,east,north with west ≤ east and south ≤ north")
    return west, south, east, north


def _plan(request: HttpRequest, params: PlanParams, counts: bool = True) -> selectors.Plan:
    check(request.user, "network.view")
    if params.pipe is None and (params.lon is None or params.lat is None):
        raise HttpError(422, "Give pipe, or lon and lat.")
    try:
        if params.pipe is not None:
            return selectors.isolation_plan(user=request.user, pipe=params.pipe, counts=counts)
        return selectors.isolation_plan(
            user=request.user, lon=params.lon, lat=params.lat, counts=counts
        )
    except selectors.NotFound as missing:
        raise HttpError(404, missing.message) from None
    except selectors.TooFar as far:
        raise HttpError(422, far.message) from None


def _valve(v: Any) -> dict[str, Any]:
    return {
        "id": v.eid,
        "pipe": v.pipe_eid,
        "node": v.node_eid,
        "state": v.state,
        "lon": v.lon,
        "lat": v.lat,
    }


GEOJSON = "application/geo+json"


@router.get(
    "/geojson",
    url_name="network_geojson",
    summary="Pipes, valves and sources as GeoJSON",
    response=dict[str, Any],
)
def geojson(
    request: HttpRequest,
    bbox: str = Query("", description="west,south,east,north (degrees); empty: everything"),
) -> HttpResponse:
    """A FeatureCollection: pipes (layer, id, diameter_mm, material, status, kind),
    valves (id, state, pipe) and sources (id, kind); `truncated` when the box held more
    than 20,000 pipes."""
    check(request.user, "network.view")
    body = selectors.network_geojson(user=request.user, bbox=_bbox(bbox))
    return HttpResponse(body, content_type=GEOJSON)


@router.get(
    "/pin-map",
    url_name="network_pin_map",
    summary="The pipes alone, to drop a case's pin on",
    response=dict[str, Any],
)
def pin_map(
    request: HttpRequest,
    bbox: str = Query("", description="west,south,east,north (degrees); empty: everything"),
) -> HttpResponse:
    """The pipes as `/geojson` draws them, without valves or sources: the map of the
    staff's new-case form, for whoever opens cases (`tickets.create`) or reads the
    network (`network.view`)."""
    body = selectors.pin_map_geojson(user=request.user, bbox=_bbox(bbox))
    return HttpResponse(body, content_type=GEOJSON)


@router.get("/isolation", url_name="network_isolation", response=PlanOut, summary="Isolation plan")
def isolation(request: HttpRequest, params: Query[PlanParams]) -> dict[str, Any]:
    """Which valves to close for a burst on a pipe (or the pipe nearest a point), what
    lies inside, what is cut off from every source, and who loses water."""
    plan = _plan(request, params)
    g, iso = plan.graph, plan.isolation
    return {
        "pipe": plan.pipe,
        "snapped_m": round(plan.snapped_m, 1) if plan.snapped_m is not None else None,
        "segment": iso.segment,
        "valves_to_close": [_valve(v) for v in iso.valves_to_close],
        "valves_already_closed": [_valve(v) for v in iso.already_closed],
        "inoperable_valves": [_valve(v) for v in iso.inoperable],
        "segment_pipes": sorted(g.pipe_eid[i] for i in iso.segment_pipes),
        "segment_junctions": sorted(g.node_eid[i] for i in iso.segment_nodes),
        "segment_length_m": round(plan.segment_length_m, 1),
        "cut_off_junctions": sorted(g.node_eid[i] for i in iso.cut_off_nodes),
        "cut_off_pipes": len(iso.cut_off_pipes),
        "whole_zone": plan.whole_zone,
        "premises": plan.premises,
        "accounts": plan.accounts,
        "care_customers": plan.care_customers,
        "non_residential_accounts": plan.non_residential_accounts,
        "critical_customers_count": plan.critical_count,
        "critical_customers": [vars(c) for c in plan.critical],
        "by_area": [vars(a) for a in plan.by_area],
    }


@router.get(
    "/isolation/geojson",
    url_name="network_isolation_geojson",
    response=dict[str, Any],
    summary="Isolation plan drawn as GeoJSON",
)
def isolation_geojson(request: HttpRequest, params: Query[PlanParams]) -> dict[str, Any]:
    """The plan's pipes (`segment`, `cut_off`), outlines (`segment_area`, `cut_off_area`)
    and valves (`valve_close`, `valve_inoperable`) as features with a `layer`."""
    plan = _plan(request, params, counts=False)
    collection = selectors.plan_geojson(plan)
    collection["pipe"] = plan.pipe
    return collection


@router.get(
    "/isolation/accounts",
    url_name="network_isolation_accounts",
    response=AccountsOut,
    summary="Accounts an isolation plan leaves without water",
)
def isolation_accounts(request: HttpRequest, params: Query[AccountsParams]) -> dict[str, Any]:
    plan = _plan(request, params, counts=False)
    rows, total = selectors.affected_accounts(
        user=request.user, plan=plan, page=params.page, page_size=params.page_size
    )
    return {
        "total": total,
        "page": params.page,
        "page_size": params.page_size,
        "accounts": [vars(r) for r in rows],
    }


# Hydraulic consequence -------------------------------------------------------------------
class LowJunctionOut(Schema):
    id: str
    before_m: float = Field(description="Pressure with every valve as it is (m)")
    after_m: float = Field(description="Pressure with the plan's valves closed (m)")


class HydraulicOut(Schema):
    id: int
    pipe: str
    valves_closed: list[str]
    threshold_m: float
    status: str = Field(description="pending, running, done or failed")
    progress: int = Field(description="Per cent")
    requested_at: str
    finished_at: str | None
    error: str
    low_pressure_junctions: list[LowJunctionOut] = Field(
        description="Junctions outside the isolated area that fall below the threshold "
        "(from at or above it), lowest first"
    )
    premises: int = Field(description="Premises attached to those junctions")
    accounts: int


def _run(run: HydraulicRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "pipe": run.pipe,
        "valves_closed": run.closed_valves,
        "threshold_m": run.threshold_m,
        "status": run.status,
        "progress": run.progress,
        "requested_at": run.requested_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "low_pressure_junctions": [
            {"id": eid, "before_m": before, "after_m": after}
            for eid, before, after in run.low_junctions
        ],
        "premises": run.premises,
        "accounts": run.accounts,
    }


@router.post(
    "/hydraulic",
    url_name="network_hydraulic",
    response={202: HydraulicOut},
    summary="Simulate the pressures of an isolation plan",
)
def hydraulic_start(request: HttpRequest, params: PlanParams) -> Status:
    """Queue WNTR's pressure-dependent simulation of the plan of a pipe (or point) with
    its valves closed; answers at once with the run (the same run for the same plan on the
    same network: finished, under way, or queued again if it failed). Poll
    `GET /hydraulic/{id}` until `status` is `done` or `failed`."""
    plan = _plan(request, params, counts=False)
    try:
        run = services.hydraulic_request(actor=request.user, pipe=plan.pipe)
    except services.NetworkError as refused:
        raise HttpError(422, refused.message) from None
    return Status(202, _run(run))


RUN_ID = Path(..., ge=1, le=2_147_483_647, description="The run's id")


def _stored_run(request: HttpRequest, run_id: int) -> HydraulicRun:
    check(request.user, "network.view")
    try:
        return selectors.hydraulic_run(user=request.user, run_id=run_id)
    except selectors.NotFound as missing:
        raise HttpError(404, missing.message) from None


@router.get(
    "/hydraulic/{run_id}",
    url_name="network_hydraulic_run",
    response=HydraulicOut,
    summary="A simulation's progress and result",
)
def hydraulic_get(request: HttpRequest, run_id: int = RUN_ID) -> dict[str, Any]:
    return _run(_stored_run(request, run_id))


@router.get(
    "/hydraulic/{run_id}/geojson",
    url_name="network_hydraulic_geojson",
    response=dict[str, Any],
    summary="The low-pressure area as GeoJSON",
)
def hydraulic_geojson(request: HttpRequest, run_id: int = RUN_ID) -> dict[str, Any]:
    """Features with `layer` `low_pressure` (junctions, with `before_m` and `after_m`) and
    `low_pressure_area` (an outline per cluster of junctions joined by pipes)."""
    return selectors.hydraulic_geojson(_stored_run(request, run_id))


# Map layers and search ---------------------------------------------------------------------
@router.get(
    "/premises",
    url_name="network_premises",
    response=dict[str, Any],
    summary="Premises in a close viewport as GeoJSON",
)
def premises(
    request: HttpRequest,
    bbox: str = Query(..., description="west,south,east,north (degrees), at most 0.05° wide"),
) -> dict[str, Any]:
    """Points with `id`, `address`, `node`, `segment`, `accounts`, and `customers` (their
    names) only for roles with `customers.view`. A wider box → 422 (zoom in)."""
    check(request.user, "network.view")
    box = _bbox(bbox)
    if box is None:
        raise HttpError(422, "bbox is required")
    try:
        return selectors.premises_geojson(user=request.user, bbox=box)
    except selectors.TooWide as wide:
        raise HttpError(422, wide.message) from None


@router.get(
    "/cases",
    url_name="network_cases",
    response=dict[str, Any],
    summary="Open repair cases as GeoJSON",
)
def cases(request: HttpRequest) -> dict[str, Any]:
    """The open repair cases the caller may see, placed at their premise (or their
    account's premise): `number`, `kind`, `state`, `address`, `incident` (other cases were
    merged into it) and `merged`, `url`; `unplaced` counts the cases with no place."""
    check(request.user, "network.view")
    return selectors.repair_cases_geojson(user=request.user)


class FoundOut(Schema):
    premise: int
    address: str
    lon: float
    lat: float
    account: str = Field(description="The account number searched for, if any")
    node: str | None = Field(description="The junction the premise is attached to")
    segment: int | None
    segment_pipes: list[str] = Field(description="The pipes of that junction's segment")


@router.get(
    "/search",
    url_name="network_search",
    response=list[FoundOut],
    summary="Find a premise by address or account number",
)
def search(
    request: HttpRequest, q: str = Query(..., min_length=1, max_length=100)
) -> list[dict[str, Any]]:
    """Up to 10 premises with coordinates: an account number (digits) exactly, or an
    address containing every word of `q`; each with its junction and segment."""
    check(request.user, "network.view")
    return [vars(f) for f in selectors.search(user=request.user, query=q)]


# Pipes laid outside an import ------------------------------------------------------------
class NewJunctionIn(Schema):
    id: str = Field(..., min_length=1, max_length=40)
    lon: float = Field(..., ge=-180, le=180)
    lat: float = Field(..., ge=-90, le=90)
    elevation: float = Field(0, ge=-500, le=9000)


class PipeIn(Schema):
    id: str = Field(..., min_length=1, max_length=40, description="The new pipe's id")
    start: str = Field(..., min_length=1, max_length=40, description="A junction's id")
    end: str | None = Field(None, max_length=40, description="A junction's id, or …")
    new_junction: NewJunctionIn | None = Field(None, description="… a junction laid with it")
    diameter_mm: float = Field(..., gt=0, le=5000)
    length_m: float | None = Field(None, gt=0, le=100_000, description="Default: measured")
    material: str = Field("", max_length=40)
    install_year: int | None = Field(None, ge=1850, le=2100)
    vertices: list[tuple[float, float]] = Field(
        default_factory=list, max_length=500, description="Bends as [lon, lat]"
    )


class PipeOut(Schema):
    id: str
    start: str
    end: str
    diameter_mm: float
    length_m: float
    segment: int


@router.post(
    "/pipes",
    url_name="network_pipe_add",
    response={201: PipeOut},
    summary="Lay a pipe (outside an import)",
)
def pipe_add(request: HttpRequest, body: PipeIn) -> Status:
    """A pipe from junction `start` to junction `end` or to a `new_junction`; the
    segments are recomputed at once (isolation plans see it) and premises near a new
    junction are attached again. `network.manage` (dispatchers, administrators)."""
    check(request.user, "network.manage")
    if (body.end is None) == (body.new_junction is None):
        raise HttpError(422, "Give end (a junction's id) or new_junction, not both.")
    end: str | services.NewJunction = body.end or ""
    if body.new_junction is not None:
        j = body.new_junction
        end = services.NewJunction(j.id, j.lon, j.lat, j.elevation)
    try:
        pipe = services.pipe_add(
            actor=request.user,
            eid=body.id,
            start=body.start,
            end=end,
            diameter_mm=body.diameter_mm,
            length_m=body.length_m,
            material=body.material,
            install_year=body.install_year,
            vertices=[list(v) for v in body.vertices],
        )
    except services.NetworkError as refused:
        raise HttpError(422, refused.message) from None
    return Status(
        201,
        {
            "id": pipe.eid,
            "start": pipe.start.eid,
            "end": pipe.end.eid,
            "diameter_mm": pipe.diameter_mm,
            "length_m": pipe.length_m,
            "segment": pipe.segment,
        },
    )


# Repair cases on the network: their own module, mounted here.
from qingquan.network.api_cases import router as cases_router  # noqa: E402

router.add_router("/cases", cases_router)
