"""Knowledge-base reads: search (Chinese bigrams, see search.py), topics, pending edits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet, Sum

from qingquan.core.access import AccessDenied
from qingquan.knowledge import search
from qingquan.knowledge.models import (
    Article,
    ArticleLink,
    ArticleRevision,
    ArticleToken,
    SynonymGroup,
)
from qingquan.staff.access import can


def _require(user: Any, capability: str = "knowledge.view") -> None:
    if not can(user, capability):
        raise AccessDenied(capability=capability)


@dataclass(frozen=True)
class Hit:
    article: Article
    matched: int
    score: int


def article_search(*, user: Any, query: str, topic: str = "", limit: int = 20) -> list[Hit]:
    """Articles ranked by distinct query tokens matched, then summed weight; an article
    must match at least half of the query's tokens."""
    _require(user)
    from qingquan.knowledge.services import synonym_map

    wanted = search.query_tokens(query, synonym_map())
    if not wanted:
        return []
    needed = max(1, math.ceil(len(wanted) / 2))
    rows = ArticleToken.objects.filter(token__in=wanted, article__is_active=True)
    if topic:
        rows = rows.filter(article__topic=topic)
    ranked = list(
        rows.values("article_id")
        .annotate(matched=Count("token", distinct=True), score=Sum("weight"))
        .filter(matched__gte=needed)
        .order_by("-matched", "-score", "article_id")[:limit]
    )
    articles = Article.objects.in_bulk([r["article_id"] for r in ranked])
    return [
        Hit(articles[r["article_id"]], r["matched"], r["score"])
        for r in ranked
        if r["article_id"] in articles
    ]


def articles_by_topic(*, user: Any, topic: str = "") -> QuerySet[Article]:
    _require(user)
    qs = Article.objects.filter(is_active=True)
    return qs.filter(topic=topic) if topic else qs


def article_for(*, user: Any, pk: int) -> Article:
    _require(user)
    return Article.objects.get(pk=pk, is_active=True)


def synonym_groups(*, user: Any) -> QuerySet[SynonymGroup]:
    _require(user, "knowledge.publish")
    return SynonymGroup.objects.select_related("updated_by")


def synonym_group_for(*, user: Any, pk: int) -> SynonymGroup:
    _require(user, "knowledge.publish")
    return SynonymGroup.objects.get(pk=pk)


def pending_revisions(*, user: Any) -> QuerySet[ArticleRevision]:
    _require(user, "knowledge.publish")
    return ArticleRevision.objects.filter(status=ArticleRevision.Status.PENDING).select_related(
        "article", "proposed_by"
    )


def revision_for(*, user: Any, pk: int) -> ArticleRevision:
    _require(user, "knowledge.publish")
    return ArticleRevision.objects.select_related("article").get(pk=pk)


def articles_of_case(*, user: Any, ticket: Any) -> list[Article]:
    _require(user)
    return [
        link.article for link in ArticleLink.objects.filter(ticket=ticket).select_related("article")
    ]
