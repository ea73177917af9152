"""Notification rules without I/O: schedule ticks across DST in the schedule's zone, lateness, retry backoff,
failure classes, and every template of the catalogue rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teei_pipelines.domain import notifications as rules
from teei_pipelines.domain.templates import CATALOGUE, TemplateMissingError, html_to_text, render, template_ids

HOUR = timedelta(hours=1)


def test_monday_nine_oslo_fires_once_per_monday_at_local_nine_across_the_dst_change():
    # Europe/Oslo moves from UTC+1 to UTC+2 on Sunday 2026-03-29.
    start = datetime(2026, 3, 9, tzinfo=UTC)
    now = datetime(2026, 4, 14, tzinfo=UTC)
    ticks = rules.due_ticks("0 9 * * 1", "Europe/Oslo", start, now, max_lateness=timedelta(days=365))
    assert ticks.due == [
        datetime(2026, 3, 9, 8, tzinfo=UTC),
        datetime(2026, 3, 16, 8, tzinfo=UTC),
        datetime(2026, 3, 23, 8, tzinfo=UTC),
        datetime(2026, 3, 30, 7, tzinfo=UTC),  # 09:00 CEST
        datetime(2026, 4, 6, 7, tzinfo=UTC),
        datetime(2026, 4, 13, 7, tzinfo=UTC),
    ]
    assert ticks.last_tick == datetime(2026, 4, 13, 7, tzinfo=UTC)
    # evaluating again from the new last tick finds nothing: no double send
    again = rules.due_ticks("0 9 * * 1", "Europe/Oslo", ticks.last_tick, now, max_lateness=timedelta(days=365))
    assert again.due == [] and again.last_tick == ticks.last_tick


def test_nonexistent_local_time_is_skipped_and_ambiguous_time_fires_once():
    late = timedelta(days=10)
    spring = rules.due_ticks(
        "30 2 * * *",
        "Europe/Oslo",
        datetime(2026, 3, 28, 12, tzinfo=UTC),
        datetime(2026, 3, 30, 12, tzinfo=UTC),
        max_lateness=late,
    )
    assert spring.due == [datetime(2026, 3, 30, 0, 30, tzinfo=UTC)]  # 02:30 on 29 March does not exist
    autumn = rules.due_ticks(
        "30 2 * * *",
        "Europe/Oslo",
        datetime(2026, 10, 24, 12, tzinfo=UTC),
        datetime(2026, 10, 25, 12, tzinfo=UTC),
        max_lateness=late,
    )
    assert len(autumn.due) == 1  # 02:30 happens twice on 25 October; it fires once


def test_late_ticks_are_skipped_and_counted_and_end_at_bounds_the_schedule():
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    ticks = rules.due_ticks("0 * * * *", "UTC", now - 5 * HOUR, now, max_lateness=timedelta(minutes=90))
    assert ticks.due == [now - HOUR, now]
    assert ticks.skipped_late == 3 and ticks.last_tick == now
    ended = rules.due_ticks("0 * * * *", "UTC", now - 5 * HOUR, now, end_at=now - 2 * HOUR, max_lateness=10 * HOUR)
    assert ended.due == [now - 4 * HOUR, now - 3 * HOUR, now - 2 * HOUR]


@pytest.mark.parametrize(("cron", "zone"), [("0 9 * * 8", "UTC"), ("0 9 * *", "UTC"), ("0 9 * * 1", "Mars/Base")])
def test_invalid_schedules_raise_schedule_error(cron, zone):
    with pytest.raises(rules.ScheduleError):
        rules.due_ticks(cron, zone, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


def test_retry_backoff_and_failure_classes():
    now = datetime(2026, 3, 10, tzinfo=UTC)
    transient = rules.SendFailure("timeout", transient=True)
    assert rules.after_failure(1, transient, now) == ("queued", now + timedelta(seconds=5))
    assert rules.after_failure(2, transient, now) == ("queued", now + timedelta(seconds=10))
    assert rules.after_failure(3, transient, now) == ("failed", None)
    assert rules.after_failure(1, rules.SendFailure("bad address", transient=False), now) == ("failed", None)
    assert rules.http_failure(429, "").transient and rules.http_failure(503, "").transient
    assert not rules.http_failure(400, "").transient and not rules.http_failure(401, "").transient
    assert rules.smtp_failure(451, "try later").transient and not rules.smtp_failure(550, "no such user").transient
    assert rules.next_utc_midnight(datetime(2026, 3, 10, 23, 59, tzinfo=UTC)) == datetime(2026, 3, 11, tzinfo=UTC)


@pytest.mark.parametrize("template_id", sorted(CATALOGUE))
def test_every_catalogue_template_renders_with_its_subject(template_id):
    assert template_id in template_ids()
    payload = {
        "campaignName": "Spring <Mentors>",
        "utilizationPercent": 92,
        "reportPeriod": {"start": "2026-03-02", "end": "2026-03-08"},
        "jobName": "vis_daily_job",
        "runId": "r-1",
        "tenantId": "acme",
        "serviceName": "api",
        "metric": "p99",
    }
    email = render(template_id, CATALOGUE[template_id], payload)
    assert email.subject and "{{" not in email.subject
    assert email.html.lstrip().lower().startswith("<!doctype html>")
    assert "<mj-" not in email.html  # MJML was compiled
    assert "Spring <Mentors>" not in email.html  # autoescaped
    assert email.text.strip()


def test_subject_defaults_missing_variables_render_empty_and_missing_templates_fail():
    email = render("weekly-report", "", {})
    assert email.subject == rules.DEFAULT_SUBJECT
    assert "Your Company" in email.text and "Period:  to " in email.text
    with pytest.raises(TemplateMissingError, match="nope"):
        render("nope", "x", {})
    assert html_to_text("<p>a &amp; b</p><div>c</div>").split() == ["a", "&", "b", "c"]
