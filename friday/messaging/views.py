"""Message pages: templates (with a live check and a preview on a chosen party) and the outbox."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from friday.core.errors import FridayError, NotFound, ValidationFailed
from friday.core.http import AuthedRequest
from friday.messaging import rendering, selectors, services
from friday.messaging.forms import TemplateForm
from friday.messaging.models import MessageStatus, MessageTemplate
from friday.parties.forms import party_ref
from friday.parties.selectors import party_get


@login_required
def template_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request, "messaging/templates.html", {"templates": MessageTemplate.objects.order_by("name")}
    )


def _data(form: TemplateForm) -> services.TemplateIn:
    c = form.cleaned_data
    return services.TemplateIn(
        key=c["key"],
        name=c["name"],
        subject=c["subject"],
        body_text=c["body_text"],
        body_html=c["body_html"],
        description=c["description"],
        marketing=c["marketing"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: AuthedRequest, template_id: int | None = None) -> HttpResponse:
    services.require_template_editor(request.user)
    template = selectors.template_get(template_id=template_id) if template_id else None
    initial: dict[str, Any] = {}
    if template is not None:
        initial = {
            f: getattr(template, f)
            for f in ("key", "name", "description", "marketing", "subject", "body_text", "body_html")
        }
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.template_save(by=request.user, data=_data(form), template=template)
        except FridayError as exc:
            for e in exc.errors if isinstance(exc, ValidationFailed) else [exc]:
                form.add_error(e.field if e.field in form.fields else None, e.detail)
        else:
            messages.success(request, f"{saved.name} was saved.")
            return redirect("messaging:template_edit", template_id=saved.pk)
    return render(
        request,
        "messaging/template_form.html",
        {"form": form, "template": template, "names": _names()},
        status=422 if request.method == "POST" else 200,
    )


def _names() -> list[str]:
    """What a template may use, for the help beside the editor."""
    out: list[str] = []

    def walk(prefix: str, schema: Any) -> None:
        if schema == "*":
            out.append(f"{prefix}.…")
        elif isinstance(schema, dict):
            for key, value in schema.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            out.append(prefix)

    walk("", rendering.SCHEMA)
    return out


@login_required
@require_POST
def template_preview(request: AuthedRequest) -> HttpResponse:
    """The live part of the editor: the check's problems, and the message rendered for the chosen party."""
    form = TemplateForm(request.POST)
    form.is_valid()
    c = getattr(form, "cleaned_data", {})
    data = services.TemplateIn(
        key="preview",
        name="preview",
        subject=request.POST.get("subject", "")[:300],
        body_text=request.POST.get("body_text", "")[:50_000],
        body_html=request.POST.get("body_html", "")[:50_000],
    )
    problems = services.template_problems(data)
    rendered, error, party = None, None, None
    pk = party_ref(c.get("party") or request.POST.get("party", ""))
    if pk is not None and not problems:
        try:
            party = party_get(user=request.user, party_id=pk)
            rendered = services.template_preview(template=data, party=party)
        except (NotFound, rendering.RenderRefused) as exc:
            error = exc
    return render(
        request,
        "messaging/_preview.html",
        {"problems": problems, "rendered": rendered, "error": error, "party": party},
    )


@login_required
@require_POST
def template_delete(request: AuthedRequest, template_id: int) -> HttpResponse:
    template = selectors.template_get(template_id=template_id)
    services.template_delete(by=request.user, template=template)
    messages.success(request, f"{template.name} was deleted.")
    return redirect("messaging:templates")


@login_required
def outbox(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    error, page = None, None
    try:
        page = selectors.outbox(user=request.user, status=status, cursor=request.GET.get("cursor"))
    except FridayError as exc:
        error = exc
    return render(
        request,
        "messaging/outbox.html",
        {
            "page": page,
            "error": error,
            "status": status,
            "statuses": MessageStatus.choices,
            "counts": selectors.status_counts(request.user),
            "configured": services.mail_configured(),
        },
        status=400 if error else 200,
    )


@login_required
def message_detail(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(user=request.user, message_id=message_id)
    return render(request, "messaging/message.html", {"message": message})


@login_required
@require_POST
def message_retry(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(user=request.user, message_id=message_id)
    try:
        services.message_retry(by=request.user, message=message)
        messages.success(request, "It will be sent again in a moment.")
    except FridayError as exc:
        messages.error(request, exc.detail)
    return redirect("messaging:message", message_id=message.pk)


@login_required
@require_POST
def release_held(request: AuthedRequest) -> HttpResponse:
    if not services.mail_configured():
        messages.error(request, "There is still no mail server: set FRIDAY_EMAIL_URL and restart Friday.")
        return redirect("messaging:outbox")
    count = services.outbox_release_held(by=request.user)
    messages.success(request, f"{count} kept message{'s' if count != 1 else ''} will be sent now.")
    return redirect("messaging:outbox")


# --- received mail ---------------------------------------------------------------------------------------------


@login_required
def mail_list(request: AuthedRequest) -> HttpResponse:
    """Mail received by the gateway: what matched nobody (to file by hand) first, then the latest."""
    from friday.messaging.models import InboundStatus

    visible = selectors.inbound_visible(request.user)
    return render(
        request,
        "messaging/mail.html",
        {
            "unmatched": visible.filter(status__in=[InboundStatus.UNMATCHED, InboundStatus.ERROR]).order_by(
                "-received_at"
            )[:100],
            "recent": visible.filter(status=InboundStatus.FILED)
            .prefetch_related("parties")
            .order_by("-received_at")[:50],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mail_detail(request: AuthedRequest, message_id: int) -> HttpResponse:
    """A received mail; one that matched nobody can be filed on a party here."""
    from friday.messaging.inbound import file_on_parties

    row = selectors.inbound_get(user=request.user, message_id=message_id)
    error = ""
    if request.method == "POST":
        pk = party_ref(request.POST.get("party", ""))
        try:
            if pk is None:
                raise FridayError(
                    "Pick the party from the list as you type.", code="invalid.party", field="party"
                )
            party = party_get(user=request.user, party_id=pk, for_write=True)
            file_on_parties(row, [party], by=request.user)
        except FridayError as exc:
            error = exc.detail
        else:
            messages.success(request, f"Filed on {party.display_name}'s timeline.")
            return redirect("messaging:mail_detail", message_id=row.pk)
    return render(
        request,
        "messaging/mail_detail.html",
        {"mail": row, "error": error, "parties": row.parties.all(), "attachments": row.attachments.all()},
        status=422 if error else 200,
    )


@login_required
def mail_attachment(request: AuthedRequest, attachment_id: int) -> FileResponse:
    from django.http import Http404

    from friday.messaging.models import InboundAttachment

    attachment = InboundAttachment.objects.filter(pk=attachment_id).select_related("message").first()
    if attachment is None:
        raise Http404("No such attachment.")
    selectors.inbound_get(user=request.user, message_id=attachment.message_id)  # scoped like its mail
    return FileResponse(
        attachment.content.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
