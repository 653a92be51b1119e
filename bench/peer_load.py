"""The load generator of the intake benchmark: wrk with a Lua script that makes every
request unique (body, idempotency key, external id, caller phone) and writes the status
and the id of every answer to a file, so that the answers can be checked against the
database afterwards.

wrk is closed-loop: each of the connections sends its next request when the previous one
is answered, so a slow answer is in the latency figures (nothing is dropped). wrk's latency
histogram holds every answered request, errors (4xx/5xx) included; requests that time out
(30 s) are counted apart and make the maximum "≥ 30 s".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_SECONDS = 30
MARKER = "@@WRK@@"


@dataclass(frozen=True)
class Target:
    """What one system receives: a path, fixed headers, and a body template where
    `{u}` is the request's unique token and `{phone}` a unique caller phone."""

    label: str
    url: str
    path: str
    headers: dict[str, str]
    body: str
    # Lua pattern that takes the created id out of an answer's body.
    id_pattern: str
    # Send the unique token as the Idempotency-Key header too.
    idempotency: bool = False


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    answers: list[tuple[int, str]]  # (status, id) of every answered request

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors + self.timeouts

    @property
    def ok_ids(self) -> list[str]:
        return [i for status, i in self.answers if 200 <= status < 300 and i]


def _lua_string(value: str) -> str:
    """A Lua string literal (JSON's escapes are valid Lua for what we put in)."""
    return json.dumps(value, ensure_ascii=False)


def lua_script(target: Target, run: str, out_dir: Path) -> str:
    headers = "\n".join(
        f"  [{_lua_string(k)}] = {_lua_string(v)}," for k, v in target.headers.items()
    )
    body_parts = re.split(r"(\{u\}|\{phone\})", target.body)
    body_expr = " .. ".join(
        "u" if p == "{u}" else "phone" if p == "{phone}" else _lua_string(p)
        for p in body_parts
        if p
    )
    return f"""
local run = {_lua_string(run)}
local out_dir = {_lua_string(str(out_dir))}
local path = {_lua_string(target.path)}
local id_pattern = {_lua_string(target.id_pattern)}
local base_headers = {{
{headers}
}}
local counter = 0
local out = nil
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
end

function init(args)
  out = io.open(out_dir .. "/answers-" .. tid .. ".txt", "w")
  out:setvbuf("line")
end

function request()
  counter = counter + 1
  local u = run .. "-" .. tid .. "-" .. counter
  local phone = string.format("139%08d", (tid * 7000000 + counter) % 100000000)
  local headers = {{}}
  for k, v in pairs(base_headers) do headers[k] = v end
  {'headers["Idempotency-Key"] = u' if target.idempotency else ""}
  return wrk.format("POST", path, headers, {body_expr})
end

function response(status, headers, body)
  local id = string.match(body or "", id_pattern) or ""
  out:write(status, " ", id, "\\n")
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "{MARKER}{{\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,"
    .. "\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,"
    .. "\\"p50\\":%d,\\"p99\\":%d,\\"max\\":%d}}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    target: Target, *, run: str, work: Path, connections: int, seconds: float
) -> LoadResult:
    """`connections` connections for `seconds` against `target`, on 2 wrk threads."""
    wrk = wrk_path()
    assert wrk is not None
    out_dir = work / run
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    script = out_dir / "load.lua"
    script.write_text(lua_script(target, run, out_dir))
    threads = min(2, connections)
    done = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={TIMEOUT_SECONDS}s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LANG": "C"},
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {done.stdout[-500:]} {done.stderr[-500:]}")
    data = json.loads(line[len(MARKER) :])
    answers: list[tuple[int, str]] = []
    for path in sorted(out_dir.glob("answers-*.txt")):
        for raw in path.read_text().splitlines():
            status, _, ident = raw.partition(" ")
            answers.append((int(status), ident.strip()))
    timeouts = int(data["timeout"])
    max_ms = data["max"] / 1000
    if timeouts:
        max_ms = max(max_ms, TIMEOUT_SECONDS * 1000.0)
    return LoadResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        max_ms=max_ms,
        non_2xx=int(data["status"]),
        socket_errors=int(data["connect"]) + int(data["read"]) + int(data["write"]),
        timeouts=timeouts,
        answers=answers,
    )
