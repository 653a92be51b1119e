"""Knowledge-base writes: agents propose (new articles or edits), supervisors publish or
reject; publishing rewrites the search tokens. Cases link the articles used to answer."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.actors import require_actor, system, user_of
from qingquan.core.audit import audit_record
from qingquan.knowledge import search
from qingquan.knowledge.models import (
    MAX_TERM_LENGTH,
    Article,
    ArticleLink,
    ArticleRevision,
    ArticleToken,
    SynonymGroup,
    Topic,
)
from qingquan.staff.access import can


class KnowledgeError(Exception):
    """Input the knowledge base refuses (a form error / 400)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class NotPermitted(KnowledgeError, AccessDenied):
    """The platform's one access error, as a knowledge-base error (a form error on pages)."""


def _require(actor: Any, capability: str) -> None:
    # The system (demo seeding, migrations) holds every capability; None is refused.
    if not can(require_actor(actor), capability):
        raise NotPermitted(_("Your role may not do this (%(cap)s).") % {"cap": capability})


def _check(title: str, topic: str, body: str) -> tuple[str, str]:
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise KnowledgeError(_("An article needs a title."))
    if topic not in Topic.values:
        raise KnowledgeError(_("Choose the article's topic."))
    if len(body) < 10:
        raise KnowledgeError(_("Write the answer (at least 10 characters)."))
    return title[:120], body


def index_article(article: Article, synonyms: search.Synonyms | None = None) -> None:
    """Rewrite an article's search tokens from its title and text (with the concept
    tokens of the synonym groups it uses)."""
    if synonyms is None:
        synonyms = synonym_map()
    ArticleToken.objects.filter(article=article).delete()
    ArticleToken.objects.bulk_create(
        ArticleToken(article=article, token=token[:40], weight=weight)
        for token, weight in search.weights(article.title, article.body, synonyms).items()
    )


def synonym_map() -> search.Synonyms:
    """Every synonym term -> its group's concept token."""
    return {
        term: search.concept_token(pk)
        for pk, terms in SynonymGroup.objects.values_list("pk", "terms")
        for term in terms
    }


def _reindex_all() -> None:
    synonyms = synonym_map()
    for article in Article.objects.all():
        index_article(article, synonyms)


def _check_terms(terms: list[str], group: SynonymGroup | None) -> None:
    if len(terms) < 2:
        raise KnowledgeError(_("A synonym group needs at least two words."))
    long = [t for t in terms if len(t) > MAX_TERM_LENGTH]
    if long:
        raise KnowledgeError(
            _("“%(term)s” is too long for a search word (at most %(n)d characters).")
            % {"term": long[0][:40], "n": MAX_TERM_LENGTH}
        )
    others = SynonymGroup.objects.all()
    if group is not None:
        others = others.exclude(pk=group.pk)
    for other in others:
        shared = set(terms) & set(other.terms)
        if shared:
            raise KnowledgeError(
                _("“%(term)s” is already in the group “%(group)s”.")
                % {"term": sorted(shared)[0], "group": other}
            )


@transaction.atomic
def synonym_group_save(
    *, actor: Any, terms: str, group: SynonymGroup | None = None
) -> SynonymGroup:
    """Create a synonym group, or replace an existing group's words; the articles are
    indexed again so the change applies to them at once."""
    _require(actor, "knowledge.publish")
    words = SynonymGroup.parse(terms)
    _check_terms(words, group)
    before = {"terms": list(group.terms)} if group is not None else None
    if group is None:
        group = SynonymGroup(terms=words)
    else:
        group = SynonymGroup.objects.select_for_update().get(pk=group.pk)
    group.terms = words
    group.updated_at = clock.now()
    group.updated_by = user_of(actor)
    group.save()
    audit_record(
        actor=actor,
        action="knowledge.synonyms_save",
        obj=group,
        before=before,
        after={"terms": words},
    )
    _reindex_all()
    return group


@transaction.atomic
def synonym_group_delete(*, actor: Any, group: SynonymGroup) -> None:
    """Remove a synonym group (its words are searched literally again)."""
    _require(actor, "knowledge.publish")
    audit_record(
        actor=actor,
        action="knowledge.synonyms_delete",
        obj=group,
        before={"terms": list(group.terms)},
        after=None,
    )
    group.delete()
    _reindex_all()


@transaction.atomic
def article_propose(
    *,
    actor: Any,
    title: str,
    topic: str,
    body: str,
    article: Article | None = None,
    note: str = "",
) -> ArticleRevision:
    """Propose a new article (article=None) or an edit of one; it waits for a supervisor."""
    _require(actor, "knowledge.propose")
    title, body = _check(title, topic, body)
    revision = ArticleRevision.objects.create(
        article=article,
        base_version=article.version if article is not None else None,
        title=title,
        topic=topic,
        body=body,
        note=(note or "").strip()[:200],
        proposed_by=user_of(actor),
        proposed_at=clock.now(),
    )
    audit_record(
        actor=actor,
        action="knowledge.propose",
        obj=revision,
        after={"article": article.pk if article else None, "title": title},
    )
    return revision


def _lock_pending(revision: ArticleRevision) -> ArticleRevision:
    locked = ArticleRevision.objects.select_for_update().get(pk=revision.pk)
    if locked.status != ArticleRevision.Status.PENDING:
        raise KnowledgeError(_("This proposal was already decided."))
    return locked


@transaction.atomic
def revision_publish(*, actor: Any, revision: ArticleRevision, note: str = "") -> Article:
    """Publish a proposal: a new article, or the next version of the one it edits. An edit
    of an older version than the current one is refused (someone published meanwhile)."""
    _require(actor, "knowledge.publish")
    revision = _lock_pending(revision)
    now = clock.now()
    if revision.article_id is None:
        article = Article.objects.create(
            title=revision.title,
            topic=revision.topic,
            body=revision.body,
            published_at=now,
            published_by=user_of(actor),
        )
        before = None
    else:
        article = Article.objects.select_for_update().get(pk=revision.article_id)
        if revision.base_version != article.version:
            raise KnowledgeError(
                _("The article changed since this edit was proposed; propose it again.")
            )
        before = {"title": article.title, "version": article.version}
        Article.objects.filter(pk=article.pk).update(
            title=revision.title,
            topic=revision.topic,
            body=revision.body,
            version=article.version + 1,
            published_at=now,
            published_by=user_of(actor),
        )
        article.refresh_from_db()
    index_article(article)
    ArticleRevision.objects.filter(pk=revision.pk).update(
        article=article,
        status=ArticleRevision.Status.PUBLISHED,
        decided_by=user_of(actor),
        decided_at=now,
        decision_note=(note or "").strip()[:200],
    )
    audit_record(
        actor=actor,
        action="knowledge.publish",
        obj=article,
        before=before,
        after={"title": article.title, "version": article.version, "revision": revision.pk},
    )
    return article


@transaction.atomic
def revision_reject(*, actor: Any, revision: ArticleRevision, note: str) -> ArticleRevision:
    """Turn a proposal down, saying why."""
    _require(actor, "knowledge.publish")
    if not (note or "").strip():
        raise KnowledgeError(_("Say why the proposal is rejected."))
    revision = _lock_pending(revision)
    ArticleRevision.objects.filter(pk=revision.pk).update(
        status=ArticleRevision.Status.REJECTED,
        decided_by=user_of(actor),
        decided_at=clock.now(),
        decision_note=note.strip()[:200],
    )
    revision.refresh_from_db()
    audit_record(actor=actor, action="knowledge.reject", obj=revision, after={"note": note})
    return revision


@transaction.atomic
def article_link(*, actor: Any, article: Article, ticket: Any) -> ArticleLink:
    """Record that `article` was used to answer the case (idempotent)."""
    _require(actor, "knowledge.view")
    existing = ArticleLink.objects.filter(article=article, ticket=ticket).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            link = ArticleLink.objects.create(
                article=article, ticket=ticket, linked_by=user_of(actor), linked_at=clock.now()
            )
    except IntegrityError:
        return ArticleLink.objects.get(article=article, ticket=ticket)
    audit_record(actor=actor, action="knowledge.link", obj=link, after={"ticket": ticket.number})
    return link


@transaction.atomic
def articles_seed(*, articles: list[tuple[str, str, str]]) -> int:
    """Publish (topic, title, text) articles whose title is not there yet; returns how many."""
    made = 0
    for topic, title, body in articles:
        if Article.objects.filter(title=title).exists():
            continue
        revision = article_propose(
            actor=system("knowledge_seed"), title=title, topic=topic, body=body
        )
        revision_publish(actor=system("knowledge_seed"), revision=revision)
        made += 1
    return made
