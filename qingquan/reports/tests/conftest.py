"""Case fixtures from the tickets tests (organisation, people, time travel, on-commit)."""

from qingquan.tickets.tests.conftest import (  # noqa: F401
    at,
    commit_hooks,
    english,
    immediate_tasks,
    kind,
    new_case,
    org,
    people,
    reference_data,
    sh,
)
