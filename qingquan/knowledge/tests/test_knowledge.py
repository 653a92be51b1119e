"""Chinese search on both databases, propose/publish, links from cases, access."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.knowledge import search, selectors, services
from qingquan.knowledge.demo import ARTICLES, seed_knowledge
from qingquan.knowledge.models import Article, ArticleLink, ArticleRevision


def test_tokens_are_cjk_bigrams_and_whole_ascii_words() -> None:
    assert search.tokens("阶梯水价") == ["阶梯", "梯水", "水价"]
    assert search.tokens("报装“２２１”标准") == ["报装", "221", "标准"]
    assert search.tokens("水 pH值") == ["水", "ph", "值"]


@pytest.fixture
def corpus(db: Any) -> int:
    return seed_knowledge()


@pytest.mark.django_db
def test_demo_seeds_about_twenty_articles_once(corpus: int) -> None:
    assert corpus == len(ARTICLES) >= 20
    assert seed_knowledge() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, title",
    [
        ("阶梯水价怎么算", "阶梯水价怎么计算"),
        ("221", "报装“221”是什么"),
        ("自来水发黄", "自来水发黄、发浑怎么办"),
        ("水表 冻", "冬季水表防冻"),
        ("停水了", "突然停水了怎么办"),
        ("电子发票", "电子发票怎么开"),
    ],
)
def test_chinese_questions_find_the_right_article_first(
    corpus: int, agent: Any, query: str, title: str
) -> None:
    hits = selectors.article_search(user=agent, query=query)
    assert hits and hits[0].article.title == title, [h.article.title for h in hits[:3]]


@pytest.mark.django_db
def test_unrelated_query_finds_nothing(corpus: int, agent: Any) -> None:
    assert selectors.article_search(user=agent, query="火车票改签") == []


@pytest.mark.django_db
def test_agents_propose_and_supervisors_publish(agent: Any, supervisor: Any) -> None:
    revision = services.article_propose(
        actor=agent,
        title="二次供水水箱清洗",
        topic="water_quality",
        body="物业每半年清洗一次楼顶水箱。",
    )
    assert selectors.article_search(user=agent, query="水箱清洗") == []  # not yet published
    with pytest.raises(services.KnowledgeError):
        services.revision_publish(actor=agent, revision=revision)
    article = services.revision_publish(actor=supervisor, revision=revision)
    assert selectors.article_search(user=agent, query="水箱清洗")[0].article == article

    edit = services.article_propose(
        actor=agent,
        article=article,
        title=article.title,
        topic=article.topic,
        body="物业每半年清洗一次楼顶水箱，并公示水质检测报告。",
        note="补充公示要求",
    )
    stale = services.article_propose(
        actor=agent,
        article=article,
        title="旧稿",
        topic=article.topic,
        body="旧的内容旧的内容旧的内容",
    )
    services.revision_publish(actor=supervisor, revision=edit)
    article.refresh_from_db()
    assert article.version == 2 and "公示" in article.body
    assert selectors.article_search(user=agent, query="检测报告")[0].article == article
    with pytest.raises(services.KnowledgeError):  # proposed against version 1
        services.revision_publish(actor=supervisor, revision=stale)
    with pytest.raises(services.KnowledgeError):
        services.revision_reject(actor=supervisor, revision=stale, note="")
    services.revision_reject(actor=supervisor, revision=stale, note="已被新版本取代")
    assert ArticleRevision.objects.get(pk=stale.pk).status == "rejected"


@pytest.mark.django_db
def test_bad_proposals_are_form_errors(agent: Any) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(agent)
    response = client.post("/knowledge/new/", {"title": "", "topic": "bills", "body": "x"})
    assert response.status_code == 400 and "needs a title" in response.content.decode()
    response = client.post("/knowledge/new/", {"title": "t", "topic": "nope", "body": "0123456789"})
    assert response.status_code == 400
    assert ArticleRevision.objects.count() == 0


@pytest.mark.django_db
def test_article_is_linked_from_a_case_and_shown_there(corpus: int, agent: Any) -> None:
    from qingquan.console import services as console
    from qingquan.tickets.models import CaseKind

    ticket = console.intake_submit(
        actor=agent,
        intake=console.Intake(kind=CaseKind.objects.get(code="bill"), subject="询问阶梯水价"),
    )
    article = Article.objects.get(title="阶梯水价怎么计算")
    client = Client()
    client.force_login(agent)
    response = client.post(f"/knowledge/{article.pk}/link/", {"case": ticket.number})
    assert response.status_code == 302
    assert response["Location"] == f"/console/cases/{ticket.number}/"
    assert ArticleLink.objects.filter(ticket=ticket, article=article).count() == 1
    client.post(f"/knowledge/{article.pk}/link/", {"case": ticket.number})
    assert ArticleLink.objects.count() == 1
    assert "阶梯水价怎么计算" in client.get(f"/console/cases/{ticket.number}/").content.decode()
    assert client.get("/knowledge/", {"q": "阶梯水价"}).status_code == 200


@pytest.mark.django_db
def test_access(agent: Any, supervisor: Any, make_user: Any) -> None:
    crew = make_user("crew")
    client = Client()
    client.force_login(crew)
    assert client.get("/knowledge/").status_code == 200
    assert client.get("/knowledge/new/").status_code == 403
    client.force_login(agent)
    assert client.get("/knowledge/review/").status_code == 403
    client.force_login(supervisor)
    assert client.get("/knowledge/review/").status_code == 200
