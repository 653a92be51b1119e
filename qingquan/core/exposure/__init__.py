"""Who sees which personal data where: every URL pattern of the project, requested as every
role and as an anonymous visitor, with known personal data seeded, each answer classified
(full / masked / none / forbidden / login / …).

Used by the privacy tests (tests/test_exposure.py: no full number, e-mail address, ID
number or name reaches a role without the right; anonymous answers hold no personal data)
and by `manage.py access_matrix`, which writes the table in docs/access-matrix.md. Like
core.demo, this module reaches into the domain apps (to seed what it looks for).

The package, by concern (callers import from `qingquan.core.exposure`):
- `seeding`: the known personal data (`KNOWN`) and `seed`;
- `urls`: the URL patterns and `url_of`;
- `requests`: `request_all`, `classify`, `script_problems`, `violations`, `markdown`.
"""

from __future__ import annotations

from qingquan.core.exposure.requests import (
    FULL,
    MASKED,
    NONE,
    Result,
    classify,
    markdown,
    request_all,
    script_problems,
    text_of,
    violations,
)
from qingquan.core.exposure.seeding import ANONYMOUS, KNOWN, ROLES, Known, Seeded, seed
from qingquan.core.exposure.urls import (
    NoRecord,
    Pattern,
    Unresolved,
    patterns,
    url_of,
)
from qingquan.core.exposure.urls import _value as _value

__all__ = [
    "ANONYMOUS",
    "FULL",
    "KNOWN",
    "MASKED",
    "NONE",
    "ROLES",
    "Known",
    "NoRecord",
    "Pattern",
    "Result",
    "Seeded",
    "Unresolved",
    "classify",
    "markdown",
    "patterns",
    "request_all",
    "script_problems",
    "seed",
    "text_of",
    "url_of",
    "violations",
]
