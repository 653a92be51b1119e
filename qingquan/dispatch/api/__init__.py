"""Repair dispatch over HTTP: /api/v1/dispatch/… (mounted in qingquan.api).

Dispatchers and supervisors (`dispatch.view`, `dispatch.manage`) read the board, make
jobs from cases, see the crews suggested with their reasons, assign, reassign and pause;
crew members (`dispatch.crew`) read their crew's jobs and send their steps, one at a time
or as the phone's offline queue (`/steps/replay`, applied in the steps' original order).
Refusals: 403 (the one access error), 404 unknown job or crew, 400 bad input, 409 a step
out of order or a job someone else changed (with `job`: the job as it is now).

The package, by concern (callers import from `qingquan.dispatch.api`):
- `schemas`: input and output schemas;
- `answers`: records to answers, refusals to 4xx, the job and crew an URL names;
- `jobs`: the `router`, the board, jobs, suggestions, assign, reassign, pause, resume;
- `steps`: the crew app's steps, the offline queue, photos;
- `crews`: crews, their position and status, the board as GeoJSON, referrals.
The modules register their endpoints on the router when imported, in this order.
"""

from __future__ import annotations

from qingquan.dispatch.api.jobs import (
    assign,
    job_create,
    job_get,
    jobs,
    pause,
    reassign,
    resume,
    router,
    suggestions,
)
from qingquan.dispatch.api.schemas import (
    ERRORS,
    AssignIn,
    BoardParams,
    CrewOut,
    CrewRef,
    JobClockOut,
    JobErrorOut,
    JobIn,
    JobOut,
    JobPauseIn,
    JobPauseOut,
    JobStepIn,
    JobValveOut,
    JobVersionIn,
    OkOut,
    PartnerOut,
    PositionIn,
    ReassignIn,
    ReferralIn,
    ReferralOut,
    ReplayIn,
    ReplayOut,
    StatusIn,
    StepOut,
    SuggestionOut,
)
from qingquan.dispatch.api.steps import photo, replay, step

# isort: split
# After the steps, so that the endpoints keep their order in the published schema.
from qingquan.dispatch.api.crews import (
    board_geojson,
    crew_status,
    crews,
    position,
    referral,
    referral_partners,
)

__all__ = [
    "ERRORS",
    "AssignIn",
    "BoardParams",
    "CrewOut",
    "CrewRef",
    "JobClockOut",
    "JobErrorOut",
    "JobIn",
    "JobOut",
    "JobPauseIn",
    "JobPauseOut",
    "JobStepIn",
    "JobValveOut",
    "JobVersionIn",
    "OkOut",
    "PartnerOut",
    "PositionIn",
    "ReassignIn",
    "ReferralIn",
    "ReferralOut",
    "ReplayIn",
    "ReplayOut",
    "StatusIn",
    "StepOut",
    "SuggestionOut",
    "assign",
    "board_geojson",
    "crew_status",
    "crews",
    "job_create",
    "job_get",
    "jobs",
    "pause",
    "photo",
    "position",
    "reassign",
    "referral",
    "referral_partners",
    "replay",
    "resume",
    "router",
    "step",
    "suggestions",
]
