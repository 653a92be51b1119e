import datetime as dt
from typing import Any
import pytest
from qingquan.console.tests.conftest import answer_call
from qingquan.telephony import services as telephony
from qingquan.staff.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OUT = "/tmp/i14a-shots"


def test_shots(browser: Any, live_server: Any, make_user: Any, pbx: Any, known_caller: Any) -> None:
    from qingquan.console import services
    from qingquan.tickets.models import CaseKind
    from qingquan.telephony.demo import seed_telephony
    demo = seed_telephony()
    agent = make_user("agent", extension="8501", full_name="陈晓雯")
    sup = make_user("supervisor", full_name="值班长")
    for code, subj in (("complaint-attitude", "营业厅态度差"), ("repair-leak", "")):
        services.intake_submit(actor=agent, intake=services.Intake(kind=CaseKind.objects.get(code=code), subject=subj, location="药行街20号" if not subj else "", caller_phone="13911115555"))
    from qingquan.tickets.models import Ticket
    t = Ticket.objects.first()
    for lang in ("zh-hans", "en"):
        ctx = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1366, "height": 768})
        ctx.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        pg = ctx.new_page()
        pg.goto("/login/"); pg.fill("input[name=username]", agent.username); pg.fill("input[name=password]", PASSWORD); pg.click("button[type=submit]"); pg.wait_for_load_state()
        telephony.agent_state_set(actor=agent, status="available")
        telephony.call_event_handle(pbx=demo, event=telephony.parse_event({"event_id": f"s-{lang}", "type": "ring", "call_id": f"s-{lang}", "from": "13700009999", "extension": "8501"}))
        pg.goto("/console/")
        pg.get_by_test_id("ringing-call").wait_for(timeout=15000)
        pg.screenshot(path=f"{OUT}/console-ringing-{lang}.png")
        call = answer_call(pbx, agent, "13566667777")
        pg.get_by_test_id("intake").wait_for(timeout=15000)
        pg.locator("body").press("4")
        pg.locator("input[name=location]").fill("药行街20号楼下水表井")
        pg.wait_for_timeout(1500)
        pg.reload()
        pg.get_by_test_id("intake").wait_for(timeout=15000)
        pg.wait_for_timeout(2000)
        pg.get_by_test_id("intake").scroll_into_view_if_needed()
        pg.screenshot(path=f"{OUT}/console-draft-{lang}.png")
        pg.locator("textarea[name=description]").fill("")
        pg.locator("input[name=kind][value=repair]").evaluate("e => e.checked = false")
        pg.locator("textarea[name=description]").press("Control+Enter")
        pg.wait_for_timeout(800)
        pg.get_by_test_id("intake").scroll_into_view_if_needed()
        pg.screenshot(path=f"{OUT}/console-refused-{lang}.png")
        pg.goto(f"/console/cases/{t.number}/"); pg.screenshot(path=f"{OUT}/console-case-{lang}.png")
        pg.goto(f"/cases/{t.number}/"); pg.screenshot(path=f"{OUT}/case-detail-{lang}.png")
        pg.goto("/console/cases/"); pg.screenshot(path=f"{OUT}/console-cases-{lang}.png")
        pg.goto("/cases/"); pg.screenshot(path=f"{OUT}/cases-mine-{lang}.png")
        telephony.call_event_handle(pbx=pbx, event=telephony.parse_event({"event_id": f"h-{call.call_id}", "type": "hangup", "call_id": call.call_id}))
        pg.goto("/console/"); pg.wait_for_timeout(500); pg.screenshot(path=f"{OUT}/console-wrapup-{lang}.png")
        ctx.close()
        ctx = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport={"width": 1366, "height": 768})
        ctx.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        pg = ctx.new_page()
        pg.goto("/login/"); pg.fill("input[name=username]", sup.username); pg.fill("input[name=password]", PASSWORD); pg.click("button[type=submit]"); pg.wait_for_load_state()
        pg.goto("/telephony/simulator/"); pg.screenshot(path=f"{OUT}/simulator-{lang}.png", full_page=True)
        pg.goto("/console/wallboard/"); pg.screenshot(path=f"{OUT}/wallboard-{lang}.png", full_page=True)
        ctx.close()
