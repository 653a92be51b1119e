"""Knowledge-base articles, their proposed revisions, the search index, and case links."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Topic(models.TextChoices):
    WATER_QUALITY = "water_quality", _("Water quality")
    SUPPLY = "supply", _("Water supply")
    BILLS = "bills", _("Bills and prices")
    CONNECTIONS = "connections", _("New connections")
    KNOWLEDGE = "knowledge", _("Water knowledge")


class Article(models.Model):
    """A published answer. Changed only by publishing a revision."""

    title = models.CharField(_("title"), max_length=120)
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    body = models.TextField(_("text"))
    version = models.PositiveIntegerField(_("version"), default=1)
    published_at = models.DateTimeField(_("published"))
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["topic", "title"]

    def __str__(self) -> str:
        return self.title


class ArticleToken(models.Model):
    """One search token of an article (see qingquan.knowledge.search)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=40, db_index=True)
    weight = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "token"], name="article_token_unique")
        ]

    def __str__(self) -> str:
        return self.token


class ArticleRevision(models.Model):
    """A proposed new article or edit, waiting for a supervisor to publish or reject it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")

    article = models.ForeignKey(
        Article,
        verbose_name=_("article"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="revisions",
    )
    base_version = models.PositiveIntegerField(_("edited version"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=120)
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    body = models.TextField(_("text"))
    note = models.CharField(_("why"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("proposed"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("article revision")
        verbose_name_plural = _("article revisions")
        ordering = ["-proposed_at", "-id"]

    def __str__(self) -> str:
        return self.title


class ArticleLink(models.Model):
    """An article used to answer a case."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="links"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="knowledge_links",
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked"))

    class Meta:
        verbose_name = _("article used on a case")
        verbose_name_plural = _("articles used on cases")
        constraints = [
            models.UniqueConstraint(fields=["article", "ticket"], name="article_link_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.ticket_id}"


SYNONYM_SEPARATORS = r"[\s,，、;；/|↔=]+"
MAX_TERM_LENGTH = 20


class SynonymGroup(models.Model):
    """Words callers and articles use for one thing (爆 ↔ 爆裂 ↔ 爆管 ↔ 爆了): search treats
    any of them as any other (see qingquan.knowledge.search). Edited by supervisors."""

    terms = models.JSONField(_("terms"), default=list)
    updated_at = models.DateTimeField(_("updated"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("synonym group")
        verbose_name_plural = _("synonym groups")
        ordering = ["id"]

    def __str__(self) -> str:
        return " ↔ ".join(self.terms)

    @staticmethod
    def parse(text: str) -> list[str]:
        """The distinct terms of a typed list (spaces, commas, 、 or ↔ between them),
        normalised as search normalises text, in the order typed."""
        import re

        from qingquan.knowledge.search import normalise

        return list(dict.fromkeys(t for t in re.split(SYNONYM_SEPARATORS, normalise(text)) if t))
