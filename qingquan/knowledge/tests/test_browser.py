"""In headless Chromium (Chinese UI): an agent finds an answer by typing a question."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from qingquan.knowledge.demo import seed_knowledge

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def test_agent_searches_the_knowledge_base_in_chinese(page: Any, login: Any, agent: Any) -> None:
    seed_knowledge()
    login(agent.username)
    page.locator('nav a[href="/knowledge/"]').click()
    page.wait_for_url("**/knowledge/")
    page.locator("#kb-q").fill("阶梯水价怎么算")
    page.locator("#kb-q").press("Enter")
    first = page.get_by_test_id("kb-hit").first
    first.wait_for()
    assert "阶梯水价怎么计算" in first.inner_text()
    if os.environ.get("QINGQUAN_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 900})
        page.screenshot(path=str(SHOTS / "knowledge-search.png"), full_page=True)
    first.get_by_role("link").click()
    assert "216" in page.get_by_test_id("article").inner_text()


def test_supervisor_adds_synonyms_and_everyday_words_find_articles(
    page: Any, login: Any, supervisor: Any
) -> None:
    seed_knowledge()
    login(supervisor.username)
    page.goto("/knowledge/")
    page.locator("#kb-q").fill("水管爆了")
    page.locator("#kb-q").press("Enter")
    first = page.get_by_test_id("kb-hit").first
    first.wait_for()
    assert "发现路面冒水、管道爆裂" in first.inner_text()
    page.get_by_test_id("synonyms-link").click()
    page.wait_for_url("**/knowledge/synonyms/")
    form = page.get_by_test_id("synonym-new")
    form.locator("input[name=terms]").fill("瞎收费 阶梯")
    form.get_by_role("button").click()
    page.wait_for_url("**/knowledge/synonyms/")
    saved = page.get_by_test_id("synonym-groups").locator('input[value="瞎收费 阶梯"]')
    assert saved.count() == 1
    page.goto("/knowledge/?q=瞎收费")
    assert "阶梯水价怎么计算" in page.get_by_test_id("kb-hit").first.inner_text()
