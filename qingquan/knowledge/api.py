"""The knowledge base over HTTP: /api/v1/knowledge/… (mounted in qingquan.api).

Everyone on the staff reads (articles by topic, the Chinese search of `search.py`, one
article); agents and supervisors propose edits; supervisors and administrators publish
them. Reads go through `selectors`, writes through `services`; a refused request answers
403, an unknown record 404, bad input 400 or 422 and a proposal that can no longer be
published 409, always with a message in ``detail``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from qingquan.knowledge import selectors, services
from qingquan.knowledge.models import Article, ArticleRevision, Topic
from qingquan.staff.access import check

router: Router = Router(tags=["knowledge"])


class TopicOut(Schema):
    code: str
    label: str
    articles: int


class ArticleOut(Schema):
    id: int
    title: str
    topic: str
    topic_label: str
    version: int
    published_at: dt.datetime


class ArticleDetailOut(ArticleOut):
    body: str
    published_by: str | None


class HitOut(Schema):
    article: ArticleOut
    matched: int = Field(description="Distinct query tokens found in the article")
    score: int = Field(description="Summed token weights (title tokens count more)")


class ProposalIn(Schema):
    article_id: int | None = Field(None, description="The article edited; null for a new one")
    title: str = Field(max_length=120)
    topic: str = Field(description=f"One of {', '.join(Topic.values)}")
    body: str
    note: str = Field("", max_length=200, description="Why the change")


class PublishIn(Schema):
    note: str = Field("", max_length=200)


class ProposalOut(Schema):
    id: int
    article_id: int | None
    base_version: int | None
    title: str
    topic: str
    body: str
    note: str
    status: str
    proposed_by: str | None
    proposed_at: dt.datetime


class SearchParams(Schema):
    q: str = Field(min_length=1, max_length=200, description="Words or a question, in Chinese")
    topic: str = ""
    limit: int = Field(20, ge=1, le=50)


def _topic(value: str) -> str:
    value = (value or "").strip()
    if value and value not in Topic.values:
        raise HttpError(400, f"Unknown topic {value!r}; use one of {', '.join(Topic.values)}.")
    return value


def _article_out(article: Article) -> dict[str, Any]:
    return {
        "id": article.pk,
        "title": article.title,
        "topic": article.topic,
        "topic_label": str(article.get_topic_display()),
        "version": article.version,
        "published_at": article.published_at,
    }


def _proposal_out(revision: ArticleRevision) -> dict[str, Any]:
    return {
        "id": revision.pk,
        "article_id": revision.article_id,
        "base_version": revision.base_version,
        "title": revision.title,
        "topic": revision.topic,
        "body": revision.body,
        "note": revision.note,
        "status": revision.status,
        "proposed_by": revision.proposed_by.username if revision.proposed_by_id else None,  # type: ignore[union-attr]
        "proposed_at": revision.proposed_at,
    }


@router.get("/topics", response=list[TopicOut], summary="Topics, with article counts")
def topics(request: HttpRequest) -> list[dict[str, Any]]:
    articles = list(selectors.articles_by_topic(user=request.user).values_list("topic"))
    counts: dict[str, int] = {}
    for (topic,) in articles:
        counts[topic] = counts.get(topic, 0) + 1
    return [
        {"code": code, "label": str(label), "articles": counts.get(code, 0)}
        for code, label in Topic.choices
    ]


@router.get("/articles", response=list[ArticleOut], summary="Articles, by topic")
def list_articles(request: HttpRequest, topic: str = "") -> list[dict[str, Any]]:
    """Published articles, all or of one ``topic``, ordered by topic and title."""
    qs = selectors.articles_by_topic(user=request.user, topic=_topic(topic))
    return [_article_out(a) for a in qs]


@router.get("/search", response=list[HitOut], summary="Search (Chinese full text)")
def search(request: HttpRequest, params: Query[SearchParams]) -> list[dict[str, Any]]:
    """Articles matching ``q``, best first: Chinese is matched by character bigrams, the
    same on SQLite and PostgreSQL, so 阶梯水价怎么算 finds 阶梯水价怎么计算. An article must
    match at least half the query's tokens."""
    hits = selectors.article_search(
        user=request.user, query=params.q, topic=_topic(params.topic), limit=params.limit
    )
    return [
        {"article": _article_out(h.article), "matched": h.matched, "score": h.score} for h in hits
    ]


@router.get("/articles/{article_id}", response=ArticleDetailOut, summary="One article")
def get_article(request: HttpRequest, article_id: int) -> dict[str, Any]:
    try:
        article = selectors.article_for(user=request.user, pk=article_id)
    except Article.DoesNotExist:
        raise HttpError(404, f"No article {article_id}.") from None
    return {
        **_article_out(article),
        "body": article.body,
        "published_by": article.published_by.username if article.published_by_id else None,  # type: ignore[union-attr]
    }


@router.post("/proposals", response={201: ProposalOut}, summary="Propose an article or an edit")
def propose(request: HttpRequest, payload: ProposalIn) -> Any:
    """Propose a new article (no ``article_id``) or an edit of one; a supervisor publishes
    it. The edit is of the article's current version: if another edit is published first,
    publishing this one is refused (409) and it must be proposed again."""
    check(request.user, "knowledge.propose")
    article = None
    if payload.article_id is not None:
        try:
            article = selectors.article_for(user=request.user, pk=payload.article_id)
        except Article.DoesNotExist:
            raise HttpError(404, f"No article {payload.article_id}.") from None
    try:
        revision = services.article_propose(
            actor=request.user,
            title=payload.title,
            topic=payload.topic,
            body=payload.body,
            article=article,
            note=payload.note,
        )
    except services.KnowledgeError as error:
        raise HttpError(400, str(error)) from None
    return Status(201, _proposal_out(revision))


@router.get("/proposals", response=list[ProposalOut], summary="Proposals waiting")
def pending(request: HttpRequest) -> list[dict[str, Any]]:
    """Proposals waiting for a decision, newest first (supervisors and administrators)."""
    return [_proposal_out(r) for r in selectors.pending_revisions(user=request.user)]


@router.post(
    "/proposals/{proposal_id}/publish", response=ArticleDetailOut, summary="Publish a proposal"
)
def publish(request: HttpRequest, proposal_id: int, payload: PublishIn) -> dict[str, Any]:
    """Publish a proposal: a new article, or the next version of the one it edits.
    409 when it was already decided or the article changed since it was proposed."""
    try:
        revision = selectors.revision_for(user=request.user, pk=proposal_id)
    except ArticleRevision.DoesNotExist:
        raise HttpError(404, f"No proposal {proposal_id}.") from None
    try:
        article = services.revision_publish(
            actor=request.user, revision=revision, note=payload.note
        )
    except services.KnowledgeError as error:
        raise HttpError(409, str(error)) from None
    return get_article(request, article.pk)
