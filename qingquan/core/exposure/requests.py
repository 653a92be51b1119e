"""Requesting every pattern as every role, classifying what each answer shows, and the
table of docs/access-matrix.md."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.test import Client

from qingquan.core.exposure.seeding import ANONYMOUS, KNOWN, ROLES, Known, Seeded
from qingquan.core.exposure.urls import NoRecord, Unresolved, patterns, url_of

FULL, MASKED, NONE = "full", "masked", "none"


@dataclass
class Result:
    """One pattern as one role: the answer, and per kind what it showed."""

    status: int
    outcome: str  # "ok", "forbidden", "login", "redirect", "not found", "not allowed", …
    kinds: dict[str, str] = field(default_factory=dict)  # kind → FULL / MASKED / NONE
    leaked: list[str] = field(default_factory=list)  # anonymous: personal strings found
    script_problems: list[str] = field(default_factory=list)  # see `script_problems`

    @property
    def cell(self) -> str:
        if self.outcome != "ok":
            return self.outcome
        shown = {k: v for k, v in self.kinds.items() if v != NONE}
        if not shown:
            return "—"
        return ", ".join(f"{k} {v}" for k, v in sorted(shown.items()))


def text_of(response: Any) -> str:
    """The text of an answer: HTML/JSON/XML as is, PDFs through pdftotext, Excel's XML."""
    body = b"".join(response) if getattr(response, "streaming", False) else response.content
    kind = response.get("Content-Type", "")
    if body.startswith(b"%PDF"):
        return _pdf_text(body)
    if "spreadsheet" in kind or body.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(
                archive.read(n).decode("utf-8", "replace")
                for n in archive.namelist()
                if n.endswith(".xml")
            )
    text = body.decode("utf-8", "replace")
    if "json" in kind:
        # JSON may escape non-ASCII (\u6b27…): read it back so names are found too.
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return text


def _pdf_text(body: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        raise RuntimeError("pdftotext (poppler-utils) is needed to read PDF answers")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answer.pdf"
        path.write_bytes(body)
        done = subprocess.run([tool, str(path), "-"], capture_output=True, check=True)
    return done.stdout.decode("utf-8", "replace")


def classify(text: str, known: Known = KNOWN) -> dict[str, str]:
    result = {}
    for kind, forms in known.forms().items():
        if any(f in text for f in forms["full"]):
            result[kind] = FULL
        elif any(f in text for f in forms["masked"]):
            result[kind] = MASKED
        else:
            result[kind] = NONE
    return result


def _outcome(response: Any) -> str:
    status = response.status_code
    if status == 200:
        return "ok"
    if status in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        return "login" if "/login/" in location or "admin/login" in location else "redirect"
    return {
        401: "login",
        403: "forbidden",
        404: "not found",
        405: "GET not allowed",
        400: "bad request",
        410: "gone",
        422: "bad request",
    }.get(status, str(status))


def request_all(
    seeded: Seeded, known: Known = KNOWN, roles: list[str] | None = None
) -> tuple[dict[tuple[str, str], Result], list[str]]:
    """GET every pattern as every role: {(route, role): Result}, and the routes whose
    parameters could not be filled."""
    results: dict[tuple[str, str], Result] = {}
    unresolved: list[str] = []
    clients: dict[str, Client] = {}
    for role in roles or ROLES:
        client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="zh-hans")
        user = seeded.users.get(role)
        if user is not None:
            client.force_login(user)
        clients[role] = client
    forbidden_public = known.public_forbidden()
    for pattern in patterns():
        try:
            url = url_of(pattern, seeded)
        except Unresolved:
            unresolved.append(pattern.route)
            continue
        except NoRecord:
            for role in clients:
                results[(pattern.route, role)] = Result(status=0, outcome="no record")
            continue
        for role, client in clients.items():
            response = client.get(url)
            outcome = _outcome(response)
            result = Result(status=response.status_code, outcome=outcome)
            if response.status_code < 500:
                text = text_of(response)
                if outcome == "ok":
                    result.kinds = classify(text, known)
                if role == ANONYMOUS:
                    result.leaked = [v for v in forbidden_public if v in text]
                result.script_problems = script_problems(response, text)
            results[(pattern.route, role)] = result
    return results, unresolved


_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
_SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def script_problems(response: Any, text: str) -> list[str]:
    """What in an HTML answer the Content-Security-Policy would block or fail to cover:
    a missing policy or one allowing inline scripts, inline `<script>` elements (JSON data
    blocks are fine), `on…=` handler attributes and `javascript:` links."""
    if "text/html" not in response.get("Content-Type", ""):
        return []
    problems = []
    policy = response.get("Content-Security-Policy", "")
    script_src = next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")
    if "'self'" not in script_src or "unsafe" in script_src:
        problems.append(f"policy: {policy or 'none'}")
    for tag in _SCRIPT_TAG.findall(text):
        if "src=" not in tag and "application/json" not in tag:
            problems.append(f"inline script: {tag[:80]}")
    for tag in _TAG.findall(text):
        if _INLINE_HANDLER.search(tag) or "javascript:" in tag.lower():
            problems.append(f"inline handler: {tag[:80]}")
    return problems


def violations(results: dict[tuple[str, str], Result], seeded: Seeded) -> list[str]:
    """Each full value shown to a role without the right, and each personal string in an
    anonymous answer."""
    from qingquan.customers.privacy import may_see

    found = []
    for (route, role), result in results.items():
        if role == ANONYMOUS:
            if result.leaked:
                found.append(f"{route} anonymous: {result.leaked}")
            continue
        user = seeded.users[role]
        for kind, seen in result.kinds.items():
            if seen == FULL and not may_see(user, kind):
                found.append(f"{route} {role}: full {kind}")
    return found


def markdown(results: dict[tuple[str, str], Result], unresolved: list[str]) -> str:
    """The role × URL table for docs/access-matrix.md."""
    routes = list(dict.fromkeys(route for route, _role in results))
    lines = [
        "# Access matrix: who sees which personal data where",
        "",
        "Generated by `.venv/bin/qingquan manage access_matrix` (do not edit by hand).",
        "Every URL pattern of the project was requested (GET) as an anonymous visitor and",
        "as each role, with a customer, a case, a call, an invoice and an Open311 request",
        "seeded with known personal data. A cell names each kind of personal data the",
        "answer showed and how: `full` or `masked` (phone, email, id_number, name); `—`",
        "means it showed none. Otherwise the answer was `login` (sent to log in),",
        "`forbidden` (403), `not found` (404), `GET not allowed` (405: a POST-only",
        "address), `bad request`, `redirect`, or `no record` (no record of the kind the",
        "address names exists). Full phone numbers, e-mail addresses and ID numbers reach",
        "only roles holding `customers.view_phone_full` (names: `customers.view`), and",
        "each showing is logged (admin: personal data disclosures). The test",
        "`qingquan/core/tests/test_exposure.py` fails on any other outcome.",
        "",
        "| URL pattern | " + " | ".join(ROLES) + " |",
        "|---|" + "---|" * len(ROLES),
    ]
    for route in routes:
        cells = [results[(route, role)].cell for role in ROLES if (route, role) in results]
        lines.append(f"| `{route}` | " + " | ".join(cells) + " |")
    if unresolved:
        lines += ["", "Patterns not requested (no record to fill their parameters):", ""]
        lines += [f"- `{route}`" for route in unresolved]
    return "\n".join(lines) + "\n"
