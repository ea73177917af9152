"""E-mail templates (notifications.md §6): Jinja2 over the row's payload (HTML autoescape on, missing variables
render empty), MJML compiled to HTML with mjml-python, text from the `.txt` template or the HTML without tags.

Templates are package data in `teei_pipelines/templates/<template_id>.mjml` (+ optional `.txt`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import mjml

from teei_pipelines.domain.notifications import DEFAULT_SUBJECT

CATALOGUE: dict[str, str] = {
    "weekly-report": "Weekly Impact Report - {{reportPeriod.start}} to {{reportPeriod.end}}",
    "alert-slo-breach": "SLO BREACH ALERT: {{serviceName}} - {{metric}}",
    "data-export-ready": "Your Personal Data Export is Ready",
    "welcome": "Welcome to TEEI Platform",
    "capacity-upsell-opportunity": "Campaign {{campaignName}} at {{utilizationPercent}}% capacity",
    "capacity-expansion-recommended": "Campaign {{campaignName}} at {{utilizationPercent}}% capacity",
    "capacity-at-limit": "Campaign {{campaignName}} at {{utilizationPercent}}% capacity",
    "capacity-over-limit-critical": "Campaign {{campaignName}} at {{utilizationPercent}}% capacity",
    "campaign-low-credits": (
        "Low credits: {{campaignName}} has {{creditsRemaining}} of {{creditAllocation}} credits left"
    ),
    "synthetic-incident": "[{{severity}}] Synthetic monitor {{monitor}} {{state}}: {{target}}",
    "q2q-budget-alert": "Q2Q budget {{eventType}}: {{tenantId}} at {{utilizationPercent}}% of {{window}} budget",
    "job-failed": "Pipeline run failed: {{jobName}} ({{runId}})",
}
_TAGS = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_HEAD = re.compile(r"<head>.*?</head>", re.S)


class TemplateMissingError(LookupError):
    """No template with that id: a permanent failure of the row."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


@cache
def _environment() -> jinja2.Environment:
    folder = resources.files("teei_pipelines") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html"), default_for_string=False),
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
    )


@cache
def _subject_environment() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)


def template_ids() -> list[str]:
    folder = resources.files("teei_pipelines") / "templates"
    return sorted(
        p.name.removesuffix(".mjml") for p in folder.iterdir() if p.name.endswith(".mjml") and p.name[0] != "_"
    )


def render(template_id: str, subject: str | None, payload: dict[str, Any]) -> RenderedEmail:
    environment = _environment()
    try:
        source = environment.get_template(f"{template_id}.mjml")
    except jinja2.TemplateNotFound:
        raise TemplateMissingError(f"template {template_id!r} does not exist") from None
    body = mjml.mjml2html(source.render(**payload))
    try:
        text = environment.get_template(f"{template_id}.txt").render(**payload)
    except jinja2.TemplateNotFound:
        text = html_to_text(body)
    title = _subject_environment().from_string(subject).render(**payload).strip() if subject else ""
    return RenderedEmail(subject=title or DEFAULT_SUBJECT, html=body, text=text)


def html_to_text(document: str) -> str:
    stripped = _TAGS.sub(" ", _HEAD.sub("", document))
    lines = (" ".join(line.split()) for line in html.unescape(stripped).splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(line for line in lines if line)).strip() + "\n"
