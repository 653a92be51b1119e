"""IVR flows as data: the node types, checking a graph, the standard flow, and saving
versions (with who changed what) and rolling back.

A graph is ``{"start": node_id, "nodes": {node_id: {"type": ..., ...}}}``. Node types:

``play``      ``prompt`` (a Prompt key) then ``next``.
``menu``      ``prompt``, ``options`` {key: node}; no key or a wrong key replays it (with the
              ``invalid`` prompt) up to ``retries`` times (3), then ``fail``.
``collect``   ``prompt``, digits ``min``–``max`` ended by ``#`` into variable ``var``, then
              ``next``; too short or nothing: retried, then ``fail``.
``bill``      reads account ``var``: speaks the amount due and due date, then ``next``; an
              unknown account goes back to ``retry`` (a collect node), the third time ``fail``.
``notice``    the interruption notice for the caller's premise (calling number or account
              ``var``) is played if there is one, then ``next``.
``hours``     ``open`` in working hours (``from``–``to`` on working days of the calendar in
              qingquan.core), else ``closed``.
``queue``     to the longest-idle available agent with ``skill``; the caller hears their
              position; a long expected wait offers a callback (``callback`` node); after
              ``max_wait`` seconds ``overflow``.
``callback``  records a callback request for the caller's number, plays ``prompt``, hangs up.
``transfer``  to ``target`` (an extension or number).
``hangup``    plays ``prompt`` if given and hangs up.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.telephony.models import IvrFlow, IvrFlowVersion

NODE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    # type: {"links": fields naming other nodes, "required": other required fields}
    "play": {"links": ("next",), "required": ("prompt",)},
    "menu": {"links": ("fail",), "required": ("prompt", "options")},
    "collect": {"links": ("next", "fail"), "required": ("prompt", "var")},
    "bill": {"links": ("next", "retry", "fail"), "required": ("var",)},
    "notice": {"links": ("next",), "required": ()},
    "hours": {"links": ("open", "closed"), "required": ()},
    "queue": {"links": ("overflow",), "required": ("skill",)},
    "callback": {"links": (), "required": ()},
    "transfer": {"links": (), "required": ("target",)},
    "hangup": {"links": (), "required": ()},
}
OPTIONAL_LINKS = {"queue": ("callback",)}
KEYS = set("0123456789*#")


class FlowError(Exception):
    """A graph that cannot run, with every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def graph_check(graph: Any) -> list[str]:
    """Every problem of `graph` (empty when it can run): unknown node types, missing
    fields, links to nodes that do not exist, menu keys that are not keypad keys."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), dict):
        return [_("A flow is an object with 'start' and 'nodes'.")]
    nodes: dict[str, Any] = graph["nodes"]
    problems: list[str] = []
    if graph.get("start") not in nodes:
        problems.append(_("The start node %(node)s does not exist.") % {"node": graph.get("start")})
    for node_id, node in nodes.items():
        kind = node.get("type") if isinstance(node, dict) else None
        if kind not in NODE_FIELDS:
            problems.append(
                _("Node %(node)s: unknown type %(type)s.") % {"node": node_id, "type": kind}
            )
            continue
        spec = NODE_FIELDS[kind]
        for field in spec["required"] + spec["links"]:
            if field not in node or node[field] in ("", None):
                problems.append(
                    _("Node %(node)s: %(field)s is missing.") % {"node": node_id, "field": field}
                )
        links = [node.get(f) for f in spec["links"] + OPTIONAL_LINKS.get(kind, ())]
        if kind == "menu":
            options = node.get("options") or {}
            for key, target in options.items():
                if key not in KEYS:
                    problems.append(
                        _("Node %(node)s: %(key)s is not a keypad key.")
                        % {"node": node_id, "key": key}
                    )
                links.append(target)
        for target in links:
            if target and target not in nodes:
                problems.append(
                    _("Node %(node)s leads to %(target)s, which does not exist.")
                    % {"node": node_id, "target": target}
                )
    return problems


# The prompts of the standard flow: key → Mandarin text (seeded by the data migration).
STANDARD_PROMPTS: dict[str, str] = {
    "greeting": "您好，欢迎致电清泉供水服务热线。",
    "main_menu": ("查询水费请按1，报修请按2，办理用水业务请按3，投诉建议请按4，人工服务请按0。"),
    "invalid": "对不起，您的输入有误。",
    "enter_account": "请输入您的户号，以井号键结束。",
    "account_unknown": "对不起，没有找到这个户号。",
    "bill_amount": "您的户号{account}，应缴水费{amount}，缴费截止日期{due}。",
    "bill_none": "您的户号{account}目前没有欠费。",
    "after_bill": "转人工服务请按0，返回主菜单请按9，结束请挂机。",
    "queue_position": "正在为您转接，您前面还有{ahead}位用户在等待。",
    "offer_callback": "当前等待时间较长，需要我们稍后回电请按1，继续等待请按其他键。",
    "callback_done": "我们已记录您的号码{number}，座席空闲后将尽快给您回电。再见。",
    "office_closed": "现在是非工作时间，营业业务请在工作日上午八点至下午六点办理。",
    "goodbye": "感谢您的来电，再见。",
}


def standard_graph() -> dict[str, Any]:
    """The standard flow (R-TEL-1): greeting; the caller's interruption first; bill
    self-service; repair, connections, complaints, agent → their queues; business hours
    from the working-day calendar; callback when the wait is long; bad input → an agent."""
    agent = {"type": "queue", "skill": "general", "overflow": "callback", "callback": "callback"}
    return {
        "start": "greeting",
        "nodes": {
            "greeting": {"type": "play", "prompt": "greeting", "next": "notice"},
            "notice": {"type": "notice", "next": "main"},
            "main": {
                "type": "menu",
                "prompt": "main_menu",
                "options": {
                    "1": "bill_account",
                    "2": "q_repair",
                    "3": "hours",
                    "4": "q_complaint",
                    "0": "q_general",
                },
                "fail": "q_general",
            },
            "bill_account": {
                "type": "collect",
                "prompt": "enter_account",
                "var": "account",
                "min": 4,
                "max": 20,
                "next": "bill",
                "fail": "q_billing",
            },
            "bill": {
                "type": "bill",
                "var": "account",
                "next": "after_bill",
                "retry": "bill_account",
                "fail": "q_billing",
            },
            "after_bill": {
                "type": "menu",
                "prompt": "after_bill",
                "options": {"0": "q_billing", "9": "main"},
                "retries": 1,
                "fail": "bye",
            },
            "hours": {
                "type": "hours",
                "from": "08:00",
                "to": "18:00",
                "open": "q_connection",
                "closed": "closed",
            },
            "closed": {"type": "play", "prompt": "office_closed", "next": "main"},
            "q_repair": {**agent, "skill": "repair"},
            "q_connection": {**agent, "skill": "connection"},
            "q_complaint": {**agent, "skill": "complaint"},
            "q_billing": {**agent, "skill": "billing"},
            "q_general": agent,
            "callback": {"type": "callback", "prompt": "callback_done"},
            "bye": {"type": "hangup", "prompt": "goodbye"},
        },
    }


@transaction.atomic
def flow_save(*, actor: Any, flow: IvrFlow, graph: Any, note: str = "") -> IvrFlowVersion:
    """Save `graph` as the flow's next version (checked first; FlowError lists problems)."""
    problems = graph_check(graph)
    if problems:
        raise FlowError(problems)
    IvrFlow.objects.select_for_update().filter(pk=flow.pk).first()
    last = flow.versions.aggregate(n=Max("number"))["n"] or 0
    version = IvrFlowVersion.objects.create(
        flow=flow,
        number=last + 1,
        graph=graph,
        note=note[:200],
        created_at=clock.now(),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit_record(
        actor=actor,
        action="telephony.flow.save",
        obj=flow,
        after={"version": version.number, "note": version.note},
    )
    return version


def flow_rollback(*, actor: Any, flow: IvrFlow, number: int) -> IvrFlowVersion:
    """Make version `number`'s graph current again (saved as a new version)."""
    old = flow.versions.filter(number=number).first()
    if old is None:
        raise FlowError([_("Version %(n)s does not exist.") % {"n": number}])
    return flow_save(
        actor=actor, flow=flow, graph=old.graph, note=_("Rollback to version %(n)s") % {"n": number}
    )


def active_graph(slug: str = "standard") -> dict[str, Any]:
    """The newest graph of flow `slug` (the standard graph when none is saved)."""
    version = IvrFlowVersion.objects.filter(flow__slug=slug).order_by("-number").first()
    return version.graph if version else standard_graph()
