"""The hotline's telephone under load (issue #22): SIPp callers on loopback keep the 4 IVR
lines (baresip) and the 16 agent endpoints (baresip) busy for 5 minutes × scale.

Each line gets its next caller as soon as its previous one has left it (transferred to an
agent): one baresip instance answers one call at a time, so a second caller on a line would
not be the platform's doing. Each caller is one SIPp process placing one call: it presses
0 during the greeting (general queue), waits for a free agent (the queue plays its
position), follows the REFER to the agent's endpoint, talks for TALK_MS and hangs up. The
agents' endpoints answer after ANSWER_AFTER s; an agent in after-call work is set available
again after WRAP_UP s (their console button).

Printed: calls placed; calls lost (every SIPp call must end as an answered call with an
answered contact: anything else, or a SIPp failure, is lost); the screen pop's latency from
the agent's answer (their endpoint's `accept`) to the pop pushed to their console, median
and p99 (targets 150 and 500 ms); the platform's CPU (this process and the baresip
processes, not SIPp) per concurrent call, with the mean concurrency and how busy lines and
agents were. Ports: SIP and control 15100–15179 (QINGQUAN_BENCH_SIP_BASE), RTP 15200–15359
(QINGQUAN_BENCH_RTP_BASE), SIPp from 42000 (QINGQUAN_BENCH_SIPP_BASE), each used once in
turn.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.context import BenchContext, bench_user
from bench.harness import Figure

SECONDS_AT_SCALE_1 = 300.0
# Talk long enough that the 16 agents are all busy: a caller spends about 10 s in the IVR
# (greeting cut by the key, queue position, REFER), so 4 lines bring about one call per
# 2.6 s, and 16 agents × 2.6 s ≈ 42 s.
TALK_MS = 50_000
ANSWER_AFTER = 0.5
WRAP_UP = 0.5
LINES = 4
EXTENSIONS = [str(8101 + n) for n in range(16)]
SIP_BASE = int(os.environ.get("QINGQUAN_BENCH_SIP_BASE", "15100"))
RTP_BASE = int(os.environ.get("QINGQUAN_BENCH_RTP_BASE", "15200"))
# Eight RTP ports per endpoint from an even port: four RTP/RTCP pairs, so a call's sockets
# still closing never keep the next call of the same endpoint from getting one.
RTP_STRIDE = 8
SIPP_FIRST = int(os.environ.get("QINGQUAN_BENCH_SIPP_BASE", "42000"))


def _log(message: str) -> None:
    print(f"telephony: {message}", file=sys.stderr, flush=True)


class SippPorts:
    """SIPp's SIP and media ports, handed out in turn from a wide range: a port is used
    again only thousands of calls later, so a late message of an earlier call (a REFER,
    a retransmission) never reaches a newer caller."""

    def __init__(self, first: int = SIPP_FIRST, last: int = SIPP_FIRST + 15_000) -> None:
        self.first, self.last = first, last
        # Each run starts elsewhere in the range: an earlier run's late messages miss it.
        self.next = first + 6 * secrets.randbelow((last - first) // 6 - 2)
        self.token = secrets.token_hex(4)
        self.lock = threading.Lock()

    def take(self) -> tuple[int, int]:
        """(SIP port, media port): SIPp uses media and media + 2."""
        with self.lock:
            for _ in range(1000):
                base = self.next
                self.next = base + 6 if base + 12 < self.last else self.first
                if all(_udp_free(base + k) for k in (0, 2, 4)):
                    return base, base + 2
        raise RuntimeError("no free UDP ports for SIPp")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Load:
    """What the run saw: SIPp calls, answers and pops, samples of concurrency."""

    started: float = field(default_factory=time.monotonic)
    launched: int = 0
    sipp_failed: int = 0
    children_cpu: float = 0.0  # sox, espeak-ng and the SIPp callers, once they ended
    over: threading.Event = field(default_factory=threading.Event)  # no new callers
    accepts: dict[str, list[float]] = field(default_factory=dict)  # extension → times
    pops: list[tuple[int, float]] = field(default_factory=list)  # (user id, time)
    samples: list[tuple[int, int, int]] = field(default_factory=list)  # live, lines, agents
    lock: threading.Lock = field(default_factory=threading.Lock)


def _agents() -> list[Any]:
    """The 16 seats' agents (no skills: any queue), available; other agents with an
    extension go on a break so that no call is offered to a phone that is not there."""
    from qingquan.staff.models import User
    from qingquan.telephony import services
    from qingquan.telephony.models import AgentSkill, AgentState, AgentStatus

    agents = [bench_user(f"bench-tel-{ext}", f"坐席{ext}", extension=ext) for ext in EXTENSIONS]
    AgentSkill.objects.filter(user__in=agents).delete()
    others = AgentState.objects.filter(
        status=AgentStatus.AVAILABLE, user__extension__gt=""
    ).exclude(user__in=agents)
    for state in others.select_related("user"):
        try:
            services.agent_state_set(actor=state.user, status=AgentStatus.BREAK)
        except services.TelephonyError as error:
            _log(f"{state.user.username} stays available: {error}")
    for agent in agents:
        services.agent_state_set(actor=agent, status=AgentStatus.AVAILABLE)
    return [User.objects.get(pk=a.pk) for a in agents]


def _end_leftover_calls() -> None:
    """Calls an interrupted earlier run left live would count as busy lines: end them."""
    from qingquan.telephony import ivr, services
    from qingquan.telephony.models import Call

    pbx = ivr.ivr_pbx()
    for call in Call.objects.live().filter(pbx=pbx):
        event = services.EventIn(
            event_id=f"{call.call_id}-bench-leftover",
            type="hangup",
            call_id=call.call_id,
            cause="failed",
        )
        services.call_event_handle(pbx=pbx, event=event)


def _caller_number() -> str:
    """A customer's phone, so the pop shows a customer (a small city if there is none)."""
    from qingquan.customers.models import CustomerPhone

    phone = CustomerPhone.objects.filter(national_digits__startswith="1").first()
    if phone is None:
        from qingquan.customers.generator import generate_city

        generate_city(accounts=200, months=3, seed=96390)
        phone = CustomerPhone.objects.filter(national_digits__startswith="1").first()
    return phone.national_digits if phone else "13800005678"


def _instrument(load: Load, stack: Any, monkey: list[tuple[Any, str, Any]]) -> None:
    """Time the agents' answers (their endpoint's `accept`) and the pops pushed."""
    from qingquan.telephony import baresip, services

    seat_ports = {i.ctrl_port: i.user for i in stack.instances if i.name.startswith("seat-")}
    command = baresip.Ctrl.command
    push = services.push_to_user

    def timed_command(self: Any, name: str, params: str = "", **kw: Any) -> Any:
        extension = seat_ports.get(self.sock.getpeername()[1]) if name == "accept" else None
        if extension is not None:
            with load.lock:
                load.accepts.setdefault(extension, []).append(time.monotonic())
        return command(self, name, params, **kw)

    def timed_push(*, user_id: int, event: dict[str, Any]) -> None:
        if event.get("kind") == "screen_pop":
            with load.lock:
                load.pops.append((user_id, time.monotonic()))
        push(user_id=user_id, event=event)

    monkey.append((baresip.Ctrl, "command", command))
    monkey.append((services, "push_to_user", push))
    setattr(baresip.Ctrl, "command", timed_command)  # noqa: B010
    setattr(services, "push_to_user", timed_push)  # noqa: B010


def _run_calls(started_at: Any) -> Any:
    """This run's calls (an earlier module may have left calls of its own)."""
    from qingquan.telephony import ivr
    from qingquan.telephony.models import Call

    return Call.objects.filter(pbx=ivr.ivr_pbx(), rang_at__gte=started_at)


def _wrap_up_and_sample(
    load: Load, agents: list[Any], stop: threading.Event, started_at: Any
) -> None:
    """Agents back to available after their after-call work; a sample every second."""
    from django.db import close_old_connections

    from qingquan.telephony import services
    from qingquan.telephony.models import AgentState, AgentStatus

    ids = [a.pk for a in agents]
    by_id = {a.pk: a for a in agents}
    next_sample = time.monotonic()
    while not stop.is_set():
        close_old_connections()
        try:
            for state in AgentState.objects.filter(user_id__in=ids, status=AgentStatus.WRAP_UP):
                if (time.time() - state.since.timestamp()) >= WRAP_UP:
                    services.agent_state_set(actor=by_id[state.user_id], status="available")
            if time.monotonic() >= next_sample and not load.over.is_set():
                next_sample += 1.0
                live = _run_calls(started_at).exclude(state="ended")
                load.samples.append(
                    (
                        live.count(),
                        live.filter(extension="").exclude(line="").count(),
                        AgentState.objects.filter(
                            user_id__in=ids, status=AgentStatus.ON_CALL
                        ).count(),
                    )
                )
        except Exception as error:  # a locked SQLite row: try again next round
            _log(f"wrap-up/sample: {error}")
        stop.wait(0.25)
    close_old_connections()


def _line_worker(
    load: Load,
    stack: Any,
    index: int,
    scenario: Path,
    until: float,
    procs: list[Any],
    ports: SippPorts,
) -> None:
    """Give line `index` its next caller each time the previous one has left it."""
    from qingquan.telephony import sipp

    line = stack.line_instances[index]
    workdir = scenario.parent
    while time.monotonic() < until:
        seen = sum(1 for r in stack.results if r is not None and r.call.line == line.name)
        sip_port, media_port = ports.take()
        args = sipp.command(
            target=f"127.0.0.1:{line.sip_port}",
            scenario=scenario,
            sip_port=sip_port,
            media_port=media_port,
            timeout=TALK_MS / 1000 + 180,
        )
        args.remove("-trace_msg")
        # SIPp's Call-ID is "<call number>-<pid>@<ip>": one call per process and pids that
        # come round again would give a later caller an earlier call's id (the platform's
        # call id on baresip); the run's token and a serial keep each one new.
        args += ["-cid_str", f"{ports.token}-{load.launched}-%u-%p@%s"]
        process = subprocess.Popen(
            args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        with load.lock:
            load.launched += 1
            procs.append(process)
        while time.monotonic() < until + 120:
            done = sum(1 for r in stack.results if r is not None and r.call.line == line.name)
            if done > seen or process.poll() is not None:
                break
            time.sleep(0.05)


def _cpu_of(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def _self_cpu(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _pop_latencies(load: Load, agents: list[Any]) -> list[float]:
    extension_of = {a.pk: str(a.extension) for a in agents}
    out = []
    for user_id, at in load.pops:
        answers = [t for t in load.accepts.get(extension_of.get(user_id, ""), []) if t <= at]
        if answers:
            out.append((at - answers[-1]) * 1000)
    return out


def _settings() -> dict[str, Any]:
    """The queue waits for an agent rather than offering a callback or overflowing."""
    from django.conf import settings

    wanted = {
        "TELEPHONY_QUEUE_MAX_WAIT": 600,
        "TELEPHONY_CALLBACK_OFFER_SECONDS": 1_000_000,
        "TELEPHONY_PROMPT_DIR": Path(settings.DATA_DIR) / "prompts",
        "TELEPHONY_RECORDING_DIR": Path(settings.DATA_DIR) / "bench-telephony" / "recordings",
    }
    before = {name: getattr(settings, name) for name in wanted}
    for name, value in wanted.items():
        setattr(settings, name, value)
    return before


def _warm_prompts() -> None:
    """Synthesise the standard prompts once before the clock starts (a cache afterwards)."""
    from qingquan.telephony import ivr, prompts, speech
    from qingquan.telephony.flows import STANDARD_PROMPTS

    for key, text in STANDARD_PROMPTS.items():
        if "{" not in text:
            prompts.audio_for(key=key, text=text)
    for ahead in range(20):
        spoken = ivr.say("queue_position", ahead=speech.integer_reading(ahead))
        prompts.audio_for(key=spoken.key, text=spoken.text, dynamic=spoken.dynamic)


def _run(seconds: float, started_at: Any) -> tuple[Load, list[Any], float, float]:
    """The load itself; returns what was seen, the agents, CPU seconds and wall seconds."""
    from qingquan.telephony import baresip, sipp

    root = Path(os.environ.get("QINGQUAN_DATA_DIR", "var")) / "bench-telephony"
    shutil.rmtree(root / "stack", ignore_errors=True)
    _end_leftover_calls()
    agents = _agents()
    caller = _caller_number()
    _warm_prompts()
    stack = baresip.Stack(
        root=root / "stack",
        lines=LINES,
        seats=EXTENSIONS,
        base=SIP_BASE,
        rtp_base=RTP_BASE,
        answer_after=ANSWER_AFTER,
    )
    for k, instance in enumerate(stack.instances):
        first = RTP_BASE + (RTP_BASE % 2) + RTP_STRIDE * k
        instance.rtp_ports = (first, first + RTP_STRIDE - 1)
    scenario = root / "sipp" / "caller.xml"
    scenario.parent.mkdir(parents=True, exist_ok=True)
    scenario.write_text(
        sipp.scenario(keys="0", caller=caller, talk_ms=TALK_MS, workdir=scenario.parent)
    )
    load = Load()
    monkey: list[tuple[Any, str, Any]] = []
    _instrument(load, stack, monkey)
    stop = threading.Event()
    procs: list[subprocess.Popen[bytes]] = []
    stack.start()
    try:
        time.sleep(1.0)  # the endpoints bind their ports
        helper = threading.Thread(target=_wrap_up_and_sample, args=(load, agents, stop, started_at))
        helper.start()
        children0 = _self_cpu(resource.RUSAGE_CHILDREN)
        cpu0, wall0 = _self_cpu() + _cpu_of(_pids(stack)), time.monotonic()
        until = wall0 + seconds
        ports = SippPorts()
        workers = [
            threading.Thread(
                target=_line_worker, args=(load, stack, i, scenario, until, procs, ports)
            )
            for i in range(LINES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        # The figures per concurrent call are those of the load itself, not of the drain.
        load.over.set()
        cpu1, wall1 = _self_cpu() + _cpu_of(_pids(stack)), time.monotonic()
        _log(f"{load.launched} callers placed; waiting for the last calls to end")
        for process in list(procs):
            try:
                process.wait(
                    timeout=max(5.0, wall0 + seconds + TALK_MS / 1000 + 150 - time.monotonic())
                )
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _wait_calls_ended(started_at, 30)
        load.children_cpu = _self_cpu(resource.RUSAGE_CHILDREN) - children0
    finally:
        stop.set()
        for process in procs:
            if process.poll() is None:
                process.kill()
        stack.stop()
        for owner, name, original in monkey:
            setattr(owner, name, original)
    load.sipp_failed = sum(1 for p in procs if p.returncode != 0)
    return load, agents, cpu1 - cpu0, wall1 - wall0


def _pids(stack: Any) -> list[int]:
    return [i.process.pid for i in stack.instances if i.process is not None]


def _wait_calls_ended(started_at: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while _run_calls(started_at).exclude(state="ended").exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _pop_figures(load: Load, agents: list[Any]) -> list[Figure]:
    """The screen pop's median and p99. The first caller of each line arrives at once on
    a cold process (first queries, first templates): those are shown apart, the figures
    are the steady state's."""
    every_pop = _pop_latencies(load, agents)
    cold, pops = (
        (every_pop[:LINES], every_pop[LINES:]) if len(every_pop) > 2 * LINES else ([], every_pop)
    )
    median = statistics.median(pops) if pops else float("nan")
    p99 = _percentile(pops, 0.99) if pops else float("nan")
    return [
        Figure(
            name="telephony: screen pop after the agent's answer, median",
            value=round(median, 1),
            unit="ms",
            target="≤ 150 ms",
            ok=bool(pops) and median <= 150,
            note=f"{len(pops)} pops after the first {len(cold)} (cold: "
            + ", ".join(f"{v:.0f}" for v in cold)
            + " ms)",
        ),
        Figure(
            name="telephony: screen pop after the agent's answer, p99",
            value=round(p99, 1),
            unit="ms",
            target="≤ 500 ms",
            ok=bool(pops) and p99 <= 500,
            note="slowest: " + ", ".join(f"{v:.0f}" for v in sorted(pops)[-3:]) + " ms",
        ),
    ]


def cases(ctx: BenchContext) -> list[Figure]:
    from qingquan.core import clock
    from qingquan.telephony import baresip, sipp
    from qingquan.telephony.models import CallOutcome

    if not (baresip.available() and sipp.available()):
        note = "needs baresip, sip-tester (SIPp), espeak-ng and sox (bin/setup --browser)"
        return [Figure(name="telephony: skipped", value=0, unit="", note=note)]
    seconds = max(20.0, SECONDS_AT_SCALE_1 * ctx.scale)
    before = _settings()
    started_at = clock.now()
    try:
        load, agents, cpu, wall = _run(seconds, started_at)
    finally:
        from django.conf import settings

        for name, value in before.items():
            setattr(settings, name, value)
    calls = _run_calls(started_at)
    right = calls.filter(
        outcome=CallOutcome.ANSWERED, contact__outcome="answered", agent__isnull=False
    ).count()
    placed = load.launched
    lost = max(placed - right, 0) + max(calls.count() - placed, 0)
    live = [s[0] for s in load.samples] or [0]
    lines_busy = statistics.mean(s[1] for s in load.samples) if load.samples else 0.0
    agents_busy = statistics.mean(s[2] for s in load.samples) if load.samples else 0.0
    concurrent = statistics.mean(live)
    per_call = cpu / wall / concurrent if concurrent else 0.0
    talk = TALK_MS / 1000
    run = f"{wall:.0f} s of load (asked {seconds:.0f} s), then the last calls; talk {talk:.0f} s"
    return [
        Figure(name="telephony: calls placed", value=placed, unit="calls", note=run),
        Figure(
            name="telephony: calls lost",
            value=lost,
            unit="calls",
            target="0",
            ok=lost == 0 and placed > 0,
            note=f"{right} answered with an answered contact; SIPp failures {load.sipp_failed}",
        ),
        *_pop_figures(load, agents),
        Figure(
            name="telephony: CPU per concurrent call",
            value=round(per_call * 1000, 1),
            unit="CPU ms/s",
            note=(
                f"CPU ms per second per call in progress: {cpu:.1f} CPU s (platform + "
                f"baresip) over {wall:.0f} s of load; children (sox, SIPp, whole run) "
                f"{load.children_cpu:.1f} s; "
                f"{concurrent:.1f} calls at once on average (max {max(live)}); "
                f"IVR lines busy {lines_busy:.1f}/{LINES}, agents on a call "
                f"{agents_busy:.1f}/{len(EXTENSIONS)}"
            ),
        ),
    ]
