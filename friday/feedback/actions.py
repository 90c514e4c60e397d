"""The `request_feedback` automation action, registered with automation when the app is ready:

    {"type": "request_feedback", "survey": "nps"}

It makes a feedback request keyed by the action run (`run:<id>`) and queues the survey's message with the
link, so a retried or re-claimed run asks once and sends one message."""

from __future__ import annotations

from typing import Any

from friday.automation.actions import Action, Permanent, Skip, _text, register
from friday.core.errors import Collector


class RequestFeedback(Action):
    type, label, fields = "request_feedback", "Request feedback", {"survey"}

    def clean(self, data: dict[str, Any], errors: Collector, path: str) -> dict[str, Any]:
        from friday.feedback.models import Survey

        key = _text(data, "survey", errors, path, limit=40)
        if key:
            survey = Survey.objects.filter(key=key).first()
            if survey is None:
                known = ", ".join(Survey.objects.order_by("key").values_list("key", flat=True)) or "none yet"
                errors.add(
                    f"{path}.survey",
                    f"There is no survey {key!r} (there are: {known}).",
                    code="invalid.survey",
                )
            elif not survey.active:
                errors.add(
                    f"{path}.survey",
                    f"The survey {key!r} is switched off: switch it on under Feedback first.",
                    code="invalid.survey",
                )
        return {"survey": key}

    def run(self, *, rule: Any, firing: Any, run: Any, settings: dict[str, Any]) -> dict[str, Any]:
        from friday.feedback.models import Survey
        from friday.feedback.services import feedback_request, feedback_token_renew, feedback_url
        from friday.messaging.models import MessageTemplate, OutboundMessage
        from friday.messaging.services import message_queue

        if firing.party is None:
            raise Skip("This firing has no party to ask for feedback.")
        survey = Survey.objects.filter(key=settings["survey"]).first()
        if survey is None:
            raise Permanent(f"The survey {settings['survey']!r} no longer exists.")
        if not survey.active:
            raise Skip(f"The survey “{survey.name}” is switched off.")
        template = MessageTemplate.objects.filter(key=survey.template_key).first()
        if template is None:
            raise Permanent(
                f"The message template {survey.template_key!r} (survey “{survey.name}”) does not exist: "
                "install the starters or name another template in the survey's settings."
            )
        key = f"run:{run.pk}"
        record = (
            (firing.record_type, firing.record_id)
            if firing.record_type not in ("", "party") and firing.record_id
            else None
        )
        request, raw = feedback_request(survey=survey, party=firing.party, record=record, key=key)
        if raw is None:
            # Asked before under this key: the message that carries the link is there too (same transaction),
            # unless it never was written — then no one has seen the link, and a fresh one replaces it.
            if request.answered_at is not None or OutboundMessage.objects.filter(key=key).exists():
                message = OutboundMessage.objects.filter(key=key).first()
                return {
                    "request_id": request.pk,
                    "message_id": message.pk if message else None,
                    "already": True,
                }
            raw = feedback_token_renew(request=request)
        url = feedback_url(raw)
        message = message_queue(
            key=key,
            party=firing.party,
            template=template,
            record={
                **(firing.snapshot or {}),
                "survey": survey.name,
                "survey_url": url,
                "valid_days": survey.valid_days,
            },
            links={"feedback": url},
        )
        out: dict[str, Any] = {"request_id": request.pk, "message_id": message.pk}
        if message.status == "failed":
            out["failed"] = f"The message could not be written: {message.reason}"
        elif message.status == "skipped":
            out["skipped"] = f"Not sent: {message.reason}"
        else:
            out["status"] = message.status
        return out

    def describe(self, settings: dict[str, Any]) -> str:
        return f"Ask for feedback ({settings['survey']})"


register(RequestFeedback())
