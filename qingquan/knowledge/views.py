"""Knowledge-base pages: search and topics, an article (link it to a case), propose an
article or an edit, and the supervisors' review queue."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from qingquan.knowledge import selectors, services
from qingquan.knowledge.models import Article, Topic
from qingquan.staff.access import can, require
from qingquan.tickets.models import Ticket


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require("knowledge.view")
def index(request: HttpRequest) -> HttpResponse:
    """Search (Chinese works without spaces) or browse by topic."""
    query = request.GET.get("q", "").strip()
    topic = request.GET.get("topic", "")
    if topic not in Topic.values:
        topic = ""
    context = {
        "query": query,
        "topic": topic,
        "topics": Topic.choices,
        "case": request.GET.get("case", ""),
        "hits": selectors.article_search(user=request.user, query=query, topic=topic)
        if query
        else None,
        "articles": selectors.articles_by_topic(user=request.user, topic=topic),
        "can_edit_synonyms": can(request.user, "knowledge.publish"),
    }
    template = "knowledge/_hits.html" if _htmx(request) and query else "knowledge/index.html"
    return render(request, template, context)


def _article(request: HttpRequest, pk: int) -> Article:
    try:
        return selectors.article_for(user=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404("article") from None


@require("knowledge.view")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = _article(request, pk)
    return render(
        request,
        "knowledge/detail.html",
        {"article": article, "case": request.GET.get("case", "")},
    )


@require("knowledge.view")
@require_POST
def link(request: HttpRequest, pk: int) -> HttpResponse:
    """Record that this article answered a case; back to the case in the console."""
    article = _article(request, pk)
    number = request.POST.get("case", "").strip()
    ticket = Ticket.objects.filter(number=number).first()
    if ticket is None:
        messages.error(request, f"{number or '—'}: {_no_case()}")
        return redirect("knowledge:detail", pk=pk)
    try:
        services.article_link(actor=request.user, article=article, ticket=ticket)
    except services.KnowledgeError as error:
        messages.error(request, error.message)
        return redirect("knowledge:detail", pk=pk)
    return redirect("console:case", number=ticket.number)


def _no_case() -> str:

    return _("No such case.")


@require("knowledge.propose")
def propose(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Propose a new article, or an edit of article `pk`; a supervisor publishes it."""
    article = _article(request, pk) if pk is not None else None
    values = {
        "title": article.title if article else "",
        "topic": article.topic if article else "",
        "body": article.body if article else "",
        "note": "",
    }
    error = ""
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            services.article_propose(actor=request.user, article=article, **values)
        except services.KnowledgeError as exc:
            error = exc.message
        else:
            messages.success(request, _("Thank you: a supervisor will review your proposal."))
            return (
                redirect("knowledge:detail", pk=article.pk)
                if article
                else redirect("knowledge:index")
            )
    return render(
        request,
        "knowledge/propose.html",
        {"article": article, "values": values, "topics": Topic.choices, "error": error},
        status=400 if error else 200,
    )


@require("knowledge.publish")
def review(request: HttpRequest) -> HttpResponse:
    """Pending proposals, with the current text beside the proposed one."""
    return render(
        request,
        "knowledge/review.html",
        {"pending": selectors.pending_revisions(user=request.user)},
    )


@require("knowledge.publish")
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        revision = selectors.revision_for(user=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404("revision") from None
    try:
        if request.POST.get("decision") == "publish":
            services.revision_publish(
                actor=request.user, revision=revision, note=request.POST.get("note", "")
            )
        else:
            services.revision_reject(
                actor=request.user, revision=revision, note=request.POST.get("note", "")
            )
    except services.KnowledgeError as error:
        messages.error(request, error.message)
    return redirect("knowledge:review")


def _synonyms_page(
    request: HttpRequest, *, error: str = "", typed: str = "", editing: int | None = None
) -> HttpResponse:
    return render(
        request,
        "knowledge/synonyms.html",
        {
            "groups": selectors.synonym_groups(user=request.user),
            "error": error,
            "typed": typed,
            "editing": editing,
        },
        status=400 if error else 200,
    )


@require("knowledge.publish")
def synonyms(request: HttpRequest) -> HttpResponse:
    """The synonym list that search applies to questions and articles; add a group."""
    if request.method != "POST":
        return _synonyms_page(request)
    typed = request.POST.get("terms", "")
    try:
        services.synonym_group_save(actor=request.user, terms=typed)
    except services.KnowledgeError as error:
        return _synonyms_page(request, error=error.message, typed=typed)
    messages.success(request, _("Synonym group added; search uses it now."))
    return redirect("knowledge:synonyms")


@require("knowledge.publish")
@require_POST
def synonym_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a group's words, or delete the group."""
    try:
        group = selectors.synonym_group_for(user=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404("synonym group") from None
    typed = request.POST.get("terms", "")
    try:
        if request.POST.get("delete"):
            services.synonym_group_delete(actor=request.user, group=group)
            messages.success(request, _("Synonym group deleted."))
        else:
            services.synonym_group_save(actor=request.user, group=group, terms=typed)
            messages.success(request, _("Synonym group saved; search uses it now."))
    except services.KnowledgeError as error:
        return _synonyms_page(request, error=error.message, typed=typed, editing=group.pk)
    return redirect("knowledge:synonyms")
