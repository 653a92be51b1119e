"""Knowledge search understands everyday words through the supervisors' synonym list:
questions as callers put them find the article an agent needs (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from qingquan.core.models import AuditEvent
from qingquan.knowledge import search, selectors, services
from qingquan.knowledge.demo import seed_knowledge
from qingquan.knowledge.models import SynonymGroup

pytestmark = pytest.mark.django_db

# The question as a caller says it, and the article that must come first.
EVERYDAY = [
    ("水管爆了", "发现路面冒水、管道爆裂"),
    ("漏水", "发现路面冒水、管道爆裂"),
    ("路上在跑水", "发现路面冒水、管道爆裂"),
    ("管子裂了", "发现路面冒水、管道爆裂"),
    ("家里没水了", "突然停水了怎么办"),
    ("怎么又断水了", "突然停水了怎么办"),
    ("水很小", "水压低、水流小"),
    ("楼上降压了", "水压低、水流小"),
    ("水龙头出黄水", "自来水发黄、发浑怎么办"),
    ("水有股怪味", "自来水有漂白粉（氯）味"),
    ("表怎么看", "水表怎么看读数"),
    ("表冻住了", "冬季水表防冻"),
    ("水钱怎么交", "水费缴纳方式"),
    ("上个月水钱怎么这么多", "水费为什么突然变高"),
    ("没交水费会怎样", "逾期未缴水费会怎样"),
    ("开票", "电子发票怎么开"),
    ("自来水能不能喝", "自来水能直接喝吗"),
    ("新房子装表要带什么", "居民新装水表需要什么材料"),
    ("停水会提前通知吗", "计划停水会提前多久通知"),
    ("水价怎么算", "阶梯水价怎么计算"),
]


@pytest.fixture
def corpus(db: Any) -> int:
    return seed_knowledge()


@pytest.mark.parametrize("question, title", EVERYDAY)
def test_everyday_questions_find_their_article(
    corpus: int, supervisor: Any, question: str, title: str
) -> None:
    hits = selectors.article_search(user=supervisor, query=question)
    assert hits, question
    assert hits[0].article.title == title


def test_the_seeded_groups_are_the_water_utility_ones() -> None:
    groups = [set(g.terms) for g in SynonymGroup.objects.all()]
    burst, leak, cut = (
        {"爆", "爆裂", "爆管", "爆了"},
        {"漏水", "冒水", "渗漏"},
        {"停水", "没水", "断水"},
    )
    for words in (burst, leak, cut):
        assert any(words <= g for g in groups), words
    assert any({"水压低", "水小", "降压"} <= g for g in groups)
    assert any({"水表", "表"} <= g for g in groups)


def test_query_terms_become_concepts_longest_first() -> None:
    synonyms = {"爆": "≈1", "爆了": "≈1", "水管": "≈2", "管道": "≈2"}
    assert search.query_tokens("水管爆了", synonyms) == ["≈2", "≈1"]
    # In articles a single character is no term (表 would match inside 代表).
    assert "≈1" not in search.weights("爆炸声", "", synonyms)
    assert search.weights("管道爆了", "", synonyms)["≈1"] == search.TITLE_WEIGHT


def test_an_edited_group_applies_at_once_and_is_audited(corpus: int, supervisor: Any) -> None:
    assert selectors.article_search(user=supervisor, query="瞎收费") == []
    group = services.synonym_group_save(actor=supervisor, terms="瞎收费、阶梯 ")
    assert group.terms == ["瞎收费", "阶梯"]
    hits = selectors.article_search(user=supervisor, query="瞎收费")
    assert hits and hits[0].article.title == "阶梯水价怎么计算"
    event = AuditEvent.objects.filter(action="knowledge.synonyms_save").latest("pk")
    assert event.after == {"terms": ["瞎收费", "阶梯"]}
    services.synonym_group_save(actor=supervisor, group=group, terms="瞎收费 电子发票")
    assert selectors.article_search(user=supervisor, query="瞎收费")[0].article.title == (
        "电子发票怎么开"
    )
    services.synonym_group_delete(actor=supervisor, group=group)
    assert selectors.article_search(user=supervisor, query="瞎收费") == []
    assert AuditEvent.objects.filter(action="knowledge.synonyms_delete").exists()


@pytest.mark.parametrize(
    "terms, message",
    [
        ("停水", "at least two words"),
        ("断流 没水", "already in the group"),
        ("甲 " + "乙" * 21, "too long"),
    ],
)
def test_bad_groups_are_refused(supervisor: Any, terms: str, message: str) -> None:
    with translation.override("en"), pytest.raises(services.KnowledgeError, match=message):
        services.synonym_group_save(actor=supervisor, terms=terms)


def test_the_page_for_supervisors_only(client: Client, supervisor: Any, agent: Any) -> None:
    client.force_login(agent)
    assert client.get("/knowledge/synonyms/").status_code == 403
    client.force_login(supervisor)
    page = client.get("/knowledge/synonyms/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and "爆裂" in page.content.decode()
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    bad = client.post("/knowledge/synonyms/", {"terms": "停水"})
    assert bad.status_code == 400 and "at least two words" in bad.content.decode()
    assert client.post("/knowledge/synonyms/", {"terms": "龙头 水嘴"}).status_code == 302
    group = SynonymGroup.objects.get(terms=["龙头", "水嘴"])
    client.post(f"/knowledge/synonyms/{group.pk}/", {"delete": "1"})
    assert not SynonymGroup.objects.filter(pk=group.pk).exists()
