"""The Open311 tests use the partner fixtures (clients, keys, staff)."""

from qingquan.partners.tests.conftest import (  # noqa: F401
    api,
    commit_hooks,
    inbox,
    make_client,
    org,
    partner,
)
