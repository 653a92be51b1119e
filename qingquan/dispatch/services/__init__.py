"""Every write of repair dispatch: keyword-only, typed, one transaction each, an audit
event and the case's timeline entry in that transaction; messages to crews' phones are
outbox rows (`CrewMessage`, `core.outbox`) written there too.

Jobs are made from a case or an incident (`job_create`), crews are sent (`job_assign`,
several crews for one big job with `add=True`; `job_reassign` with a reason), the
restoration clock waits for a road permit or the customer (`job_pause`, `job_resume`), and
the crew app's steps are recorded by `step_record` (idempotent by the phone's step id) or
`steps_replay` (the offline queue, applied in the steps' original order).

Two dispatchers assigning one job at once: each sends the job's version it read; the
version is raised by one `UPDATE … WHERE id = … AND version = …` (`core.db.claims.
claim_by_update`), which exactly one of them wins; the other gets `Conflict` with the job
as it is now. The case itself follows through the tickets services (dispatched to the
crew's team, the crew's arrival, resolved when supply is restored: the incident's merged
cases are resolved with it and the follow-up callbacks start as in any resolution).

A package by concern (callers import from `qingquan.dispatch.services`): `base`
(constants, step order, locks and versions, timeline and audit, who may work a job),
`places` (repair policy, the job's place), `jobs`, `steps` (the crew app's steps and the
offline queue), `crews` (texts to crews, position, status), `referrals`.
"""

from __future__ import annotations

from qingquan.dispatch.services.base import (
    CLOCK_SKEW,
    DISPATCH,
    KIND_OF_CASE,
    LOCK_NAMESPACE,
    NEXT_STEP,
    ORDER,
    PHOTO_MAX_BYTES,
    STEP_FLOW,
    TRACKED,
)
from qingquan.dispatch.services.crews import crew_messages_send, crew_position, crew_set_status
from qingquan.dispatch.services.jobs import (
    job_assign,
    job_cancel,
    job_create,
    job_pause,
    job_reassign,
    job_resume,
)
from qingquan.dispatch.services.places import Place, policy_for
from qingquan.dispatch.services.referrals import referral_make
from qingquan.dispatch.services.steps import (
    ReplayResult,
    StepResult,
    step_record,
    steps_replay,
)

__all__ = [
    "CLOCK_SKEW",
    "DISPATCH",
    "KIND_OF_CASE",
    "LOCK_NAMESPACE",
    "NEXT_STEP",
    "ORDER",
    "PHOTO_MAX_BYTES",
    "STEP_FLOW",
    "TRACKED",
    "Place",
    "ReplayResult",
    "StepResult",
    "crew_messages_send",
    "crew_position",
    "crew_set_status",
    "job_assign",
    "job_cancel",
    "job_create",
    "job_pause",
    "job_reassign",
    "job_resume",
    "policy_for",
    "referral_make",
    "step_record",
    "steps_replay",
]
