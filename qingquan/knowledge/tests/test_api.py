"""The knowledge API: topics, listing, Chinese search, detail, propose and publish, access."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.knowledge.demo import seed_knowledge
from qingquan.knowledge.models import Article, ArticleRevision
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    return client


def post(client: Client, url: str, data: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/knowledge{url}", json.dumps(data), content_type="application/json")


@pytest.fixture
def corpus(db: Any) -> int:
    return seed_knowledge()


@pytest.fixture
def article(corpus: int) -> Article:
    return Article.objects.get(title="阶梯水价怎么计算")


def test_topics_and_listing_by_topic(agent: Any, corpus: int) -> None:
    api = client_for(agent)
    topics = api.get("/api/v1/knowledge/topics").json()
    assert sum(t["articles"] for t in topics) == corpus
    bills = next(t for t in topics if t["code"] == "bills")
    listed = api.get("/api/v1/knowledge/articles?topic=bills").json()
    assert len(listed) == bills["articles"] > 0
    assert {a["topic"] for a in listed} == {"bills"}
    assert len(api.get("/api/v1/knowledge/articles").json()) == corpus
    r = api.get("/api/v1/knowledge/articles?topic=gossip")
    assert r.status_code == 400 and "Unknown topic" in r.json()["detail"]


@pytest.mark.parametrize(
    "query, title",
    [("阶梯水价怎么算", "阶梯水价怎么计算"), ("自来水发黄", "自来水发黄、发浑怎么办")],
)
def test_chinese_search(agent: Any, corpus: int, query: str, title: str) -> None:
    r = client_for(agent).get("/api/v1/knowledge/search", {"q": query})
    assert r.status_code == 200, r.content
    hits = r.json()
    assert hits[0]["article"]["title"] == title
    assert hits[0]["matched"] >= 1 and hits[0]["score"] > 0


def test_search_needs_a_query_and_a_known_topic(agent: Any, corpus: int) -> None:
    api = client_for(agent)
    assert api.get("/api/v1/knowledge/search").status_code == 422
    assert api.get("/api/v1/knowledge/search", {"q": ""}).status_code == 422
    r = api.get("/api/v1/knowledge/search", {"q": "水价", "topic": "nope"})
    assert r.status_code == 400
    assert api.get("/api/v1/knowledge/search", {"q": "……"}).json() == []


def test_article_detail_and_unknown(agent: Any, article: Article) -> None:
    api = client_for(agent)
    r = api.get(f"/api/v1/knowledge/articles/{article.pk}")
    assert r.status_code == 200 and r.json()["body"] == article.body
    assert api.get("/api/v1/knowledge/articles/999999").status_code == 404


def test_anonymous_is_refused() -> None:
    assert Client().get("/api/v1/knowledge/articles").status_code == 401


def test_agent_proposes_and_supervisor_publishes(
    agent: Any, supervisor: Any, article: Article
) -> None:
    r = post(
        client_for(agent),
        "/proposals",
        {
            "article_id": article.pk,
            "title": article.title,
            "topic": article.topic,
            "body": article.body + "\n补充：第三阶梯从 2026 年起调整。",
            "note": "价格调整",
        },
    )
    assert r.status_code == 201, r.content
    proposal = r.json()
    assert proposal["status"] == "pending" and proposal["base_version"] == article.version
    assert AuditEvent.objects.filter(action="knowledge.propose", actor=agent).exists()

    boss = client_for(supervisor)
    assert [p["id"] for p in boss.get("/api/v1/knowledge/proposals").json()] == [proposal["id"]]
    r = post(boss, f"/proposals/{proposal['id']}/publish", {"note": "ok"})
    assert r.status_code == 200, r.content
    assert r.json()["version"] == article.version + 1 and "第三阶梯" in r.json()["body"]
    assert AuditEvent.objects.filter(action="knowledge.publish", actor=supervisor).exists()
    # Found by the new words at once (the index was rebuilt by the service).
    hits = client_for(agent).get("/api/v1/knowledge/search", {"q": "第三阶梯"}).json()
    assert hits[0]["article"]["id"] == article.pk
    # Deciding twice is a conflict.
    r = post(boss, f"/proposals/{proposal['id']}/publish", {})
    assert r.status_code == 409 and "already decided" in r.json()["detail"]


def test_a_stale_edit_is_refused_on_publishing(
    agent: Any, supervisor: Any, article: Article
) -> None:
    api = client_for(agent)
    edit = {"article_id": article.pk, "title": article.title, "topic": article.topic}
    first = post(api, "/proposals", {**edit, "body": "第一个修改：阶梯水价按年用量计算。"}).json()
    second = post(api, "/proposals", {**edit, "body": "第二个修改：阶梯水价按户计算。"}).json()
    boss = client_for(supervisor)
    assert post(boss, f"/proposals/{first['id']}/publish", {}).status_code == 200
    r = post(boss, f"/proposals/{second['id']}/publish", {})
    assert r.status_code == 409 and "changed since" in r.json()["detail"]


def test_new_article_proposal(agent: Any, supervisor: Any, corpus: int) -> None:
    r = post(
        client_for(agent),
        "/proposals",
        {
            "title": "水表箱漏水怎么办",
            "topic": "supply",
            "body": "请先关闭表前阀门，再拨打 96390 报修。",
        },
    )
    assert r.status_code == 201 and r.json()["article_id"] is None
    r = post(client_for(supervisor), f"/proposals/{r.json()['id']}/publish", {})
    assert r.status_code == 200 and Article.objects.filter(title="水表箱漏水怎么办").exists()


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"topic": "gossip"}, 400, "topic"),
        ({"body": "太短"}, 400, "at least 10"),
        ({"title": "  "}, 400, "title"),
        ({"title": "长" * 121}, 422, ""),
        ({"article_id": 999999}, 404, "No article"),
    ],
)
def test_bad_proposals_answer_4xx(
    agent: Any, article: Article, change: dict[str, Any], status: int, words: str
) -> None:
    data = {"title": "标题", "topic": "bills", "body": "一个足够长的回答内容。", **change}
    r = post(client_for(agent), "/proposals", data)
    assert r.status_code == status, r.content
    if words:
        assert words in r.json()["detail"]
    assert not ArticleRevision.objects.filter(title="标题").exists()


def test_who_may_propose_and_publish(
    agent: Any, make_user: Any, administrator: Any, article: Article
) -> None:
    crew = client_for(make_user(Role.CREW))
    data = {"title": "标题", "topic": "bills", "body": "一个足够长的回答内容。"}
    r = post(crew, "/proposals", data)
    assert r.status_code == 403 and "knowledge.propose" in r.json()["detail"]
    # Administrators publish but do not propose.
    assert post(client_for(administrator), "/proposals", data).status_code == 403
    proposal = post(client_for(agent), "/proposals", data).json()
    r = post(client_for(agent), f"/proposals/{proposal['id']}/publish", {})
    assert r.status_code == 403 and "knowledge.publish" in r.json()["detail"]
    assert client_for(agent).get("/api/v1/knowledge/proposals").status_code == 403
    assert ArticleRevision.objects.get(pk=proposal["id"]).status == "pending"
    r = post(client_for(administrator), f"/proposals/{proposal['id']}/publish", {})
    assert r.status_code == 200
    assert post(client_for(administrator), "/proposals/999999/publish", {}).status_code == 404
