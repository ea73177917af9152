"""Deterministic demo and benchmark data for every source table (foundation issue, item 5).

`generate(scale, seed, anchor)` builds polars frames with numpy's seeded generator: the same (scale, seed, anchor)
always gives the same rows. `load_postgres` bulk-loads them with COPY and `load_clickhouse` with Arrow inserts.
Scale 1 is the demo (3 companies, ~24 campaigns, ~500 users, ~20,000 Buddy events); scale 100 is the benchmark
size (~2M Buddy events). Timestamps span the two years before `anchor` (a UTC midnight), so dates line up with
the campaign state machine: some planned campaigns start on the anchor day, some active ones end there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import sqlalchemy as sa
from clickhouse_connect.driver.client import Client

from teei_pipelines.pgio import copy_in, query

US_PER_DAY = 86_400_000_000
HISTORY_DAYS = 730

CAMPAIGN_STATUSES = ("draft", "planned", "recruiting", "active", "paused", "completed", "closed")
PRICING_MODELS = ("seats", "credits", "bundle", "iaas", "custom")
BUDDY_EVENT_TYPES = (
    "buddy.match.created",
    "buddy.match.ended",
    "buddy.event.attended",
    "buddy.event.logged",
    "buddy.skill_share.completed",
    "buddy.feedback.submitted",
    "buddy.milestone.reached",
    "buddy.checkin.completed",
    "buddy.profile.viewed",  # not in the points table: scores 0 (vis.md §3)
)
BUDDY_EVENT_WEIGHTS = (0.08, 0.03, 0.18, 0.10, 0.06, 0.12, 0.03, 0.38, 0.02)
OUTCOME_DIMENSIONS = ("confidence", "belonging", "language_proficiency", "job_readiness", "wellbeing")
FEEDBACK_PHRASES = (
    "I feel more confident now, joined a community, and my job-search skills improved!",
    "Speaking practice helped my communication and writing a lot.",
    "Great session. We talked about career plans and my resume.",
    "I feel connected and included, like I belong here.",
    "Good for my mental health and overall wellbeing.",
    "The volunteer was kind and patient.",
    "",
)
INDUSTRIES = ("technology", "finance", "healthcare", "retail", "energy", "education")
COUNTRIES = ("NO", "UA", "DE", "GB", "SE", "PL")
CITIES = ("Oslo", "Kyiv", "Berlin", "London", "Stockholm", "Warsaw")
LANGUAGES = ("en", "uk", "no", "de")
FIRST_NAMES = ("Anna", "Olena", "Lars", "Ingrid", "Taras", "Maria", "Jonas", "Iryna", "Erik", "Sofia")
LAST_NAMES = ("Hansen", "Shevchenko", "Berg", "Kowalski", "Johansen", "Bondarenko", "Larsen", "Novak")
SKILLS = ('["python", "mentoring"]', '["teaching"]', '["english", "norwegian"]', "[]", '["  "]')
REGIONS = ("eu-north-1", "eu-central-1", "us-east-1")
AI_MODELS = ("gpt-4o-mini", "claude-3-haiku", "llama-3-70b")
SERVICES = ("q2q-ai", "reporting", "insights")


@dataclass
class SeedData:
    """Frames keyed by table name, in FK-safe load order."""

    postgres: dict[str, pl.DataFrame] = field(default_factory=dict)
    clickhouse: dict[str, pl.DataFrame] = field(default_factory=dict)

    def row_counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in {**self.postgres, **self.clickhouse}.items()}


@dataclass(frozen=True)
class LoadReport:
    table_rows: dict[str, int]
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.table_rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


def default_anchor() -> datetime:
    """Today's UTC midnight: demo data ends where the wall clock is."""
    today = datetime.now(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC)


def _uuids(rng: np.random.Generator, n: int) -> pl.Series:
    """n random version-4 UUIDs as 32-hex strings (PostgreSQL and polars both accept the undashed form)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.frombuffer(raw.tobytes().hex().encode(), dtype="S32").astype(str)
    h = pl.col("h")
    parts = [
        h.str.slice(0, 8),
        h.str.slice(8, 4),
        h.str.slice(12, 4),
        h.str.slice(16, 4),
        h.str.slice(20, 12),
    ]
    return (
        pl.DataFrame({"h": pl.Series(hexed, dtype=pl.String)}).select(pl.concat_str(parts, separator="-")).to_series()
    )


def _choice(rng: np.random.Generator, values: Iterable, n: int, p: Iterable[float] | None = None) -> np.ndarray:
    values = list(values)
    index = rng.choice(len(values), size=n, p=None if p is None else np.asarray(list(p)))
    return np.asarray(values, dtype=object)[index]


def _timestamps(anchor: datetime, offsets_us: np.ndarray) -> pl.Series:
    anchor_us = int(anchor.timestamp() * 1_000_000)
    return pl.Series((anchor_us + offsets_us).astype(np.int64)).cast(pl.Datetime("us", "UTC"))


def _maybe(rng: np.random.Generator, values: np.ndarray, fill_rate: float) -> list:
    keep = rng.random(len(values)) < fill_rate
    return [value if ok else None for value, ok in zip(values.tolist(), keep.tolist(), strict=True)]


def generate(scale: float = 1, seed: int = 42, anchor: datetime | None = None) -> SeedData:
    """Every source table's rows for the given scale; deterministic in (scale, seed, anchor)."""
    if scale <= 0:
        raise ValueError("scale must be > 0")
    anchor = anchor or default_anchor()
    rng = np.random.default_rng(seed)
    data = SeedData()
    pg = data.postgres
    history_us = HISTORY_DAYS * US_PER_DAY

    def n_of(base: int) -> int:
        return max(1, round(base * scale))

    # companies and their reference rows ---------------------------------------------------------------
    n_companies = n_of(3)
    company_ids = _uuids(rng, n_companies)
    pg["companies"] = pl.DataFrame(
        {
            "id": company_ids,
            "name": [
                f"{name} {i + 1}" for i, name in enumerate(_choice(rng, ("Acme", "Globex", "Initech"), n_companies))
            ],
            "industry": _choice(rng, INDUSTRIES, n_companies),
            "country": _choice(rng, COUNTRIES, n_companies),
            "employee_count": [
                None if i % 7 == 6 else int(v) for i, v in enumerate(rng.choice([20, 120, 800, 4000], size=n_companies))
            ],
            "features": ['{"q2q": true, "campaigns": true}'] * n_companies,
            "created_at": _timestamps(anchor, -rng.integers(history_us, history_us + 90 * US_PER_DAY, n_companies)),
        }
    )
    per_company = np.arange(n_companies).repeat(2)
    pg["program_templates"] = pl.DataFrame(
        {
            "id": _uuids(rng, 2 * n_companies),
            "company_id": company_ids.gather(per_company),
            "name": [f"Template {i % 2 + 1}" for i in range(2 * n_companies)],
        }
    )
    pg["beneficiary_groups"] = pl.DataFrame(
        {
            "id": _uuids(rng, 2 * n_companies),
            "company_id": company_ids.gather(per_company),
            "name": [f"Beneficiary group {i % 2 + 1}" for i in range(2 * n_companies)],
        }
    )
    pg["l2i_subscriptions"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_companies),
            "company_id": company_ids,
            "sku": ["L2I-STANDARD"] * n_companies,
            "status": ["active"] * n_companies,
        }
    )
    pg["billing_subscriptions"] = pl.DataFrame(
        {"id": _uuids(rng, n_companies), "company_id": company_ids, "status": ["active"] * n_companies}
    )

    # users with partly filled profiles ----------------------------------------------------------------
    n_users = n_of(500)
    user_ids = _uuids(rng, n_users)
    pg["users"] = pl.DataFrame(
        {
            "id": user_ids,
            "email": [f"user{i:07d}@teei.local" for i in range(n_users)],
            "role": _choice(rng, ("volunteer", "participant", "company_admin"), n_users, (0.45, 0.5, 0.05)),
            "first_name": _maybe(rng, _choice(rng, FIRST_NAMES, n_users), 0.9),
            "last_name": _maybe(rng, _choice(rng, LAST_NAMES, n_users), 0.85),
            "phone": _maybe(rng, np.asarray([f"+47 4{i:07d}" for i in range(n_users)], dtype=object), 0.4),
            "country": _maybe(rng, _choice(rng, COUNTRIES, n_users), 0.7),
            "city": _maybe(rng, _choice(rng, CITIES, n_users), 0.6),
            "preferred_language": _maybe(rng, _choice(rng, LANGUAGES, n_users), 0.7),
            "bio": _maybe(rng, _choice(rng, ("Loves mentoring.", "   ", "Engineer and volunteer."), n_users), 0.35),
            "avatar_url": _maybe(
                rng,
                np.asarray([f"https://cdn.teei.local/a/{i}.png" for i in range(n_users)], dtype=object),
                0.3,
            ),
            "skills": _choice(rng, SKILLS, n_users),
            "linkedin_url": _maybe(
                rng, np.asarray([f"https://linkedin.com/in/u{i}" for i in range(n_users)], dtype=object), 0.25
            ),
            "timezone": _maybe(rng, _choice(rng, ("Europe/Oslo", "Europe/Kyiv", "UTC"), n_users), 0.5),
            "created_at": _timestamps(anchor, -rng.integers(US_PER_DAY, history_us, n_users)),
        }
    ).with_columns(pl.col("created_at").alias("updated_at"))
    has_buddy_id = rng.random(n_users) < 0.3
    buddy_user_index = np.flatnonzero(has_buddy_id)
    buddy_external = np.asarray([f"buddy-{i:07d}" for i in buddy_user_index], dtype=object)
    pg["user_external_ids"] = pl.DataFrame(
        {
            "id": _uuids(rng, len(buddy_user_index)),
            "profile_id": user_ids.gather(buddy_user_index),
            "provider": ["buddy"] * len(buddy_user_index),
            "external_id": buddy_external,
        }
    )

    # campaigns: every status x every pricing model ----------------------------------------------------
    n_campaigns = n_of(24)
    idx = np.arange(n_campaigns)
    statuses = np.asarray(CAMPAIGN_STATUSES, dtype=object)[idx % len(CAMPAIGN_STATUSES)]
    # Shift the model every 7 campaigns so each status meets several pricing models (an active credits one too).
    pricing = np.asarray(PRICING_MODELS, dtype=object)[(idx + idx // len(CAMPAIGN_STATUSES)) % len(PRICING_MODELS)]
    anchor_day = anchor.date()
    start_offsets = np.select(
        [
            statuses == "draft",
            statuses == "planned",
            statuses == "recruiting",
            statuses == "active",
            statuses == "paused",
            statuses == "completed",
            statuses == "closed",
        ],
        [
            rng.integers(10, 60, n_campaigns),
            np.where(idx % 2 == 0, 0, rng.integers(1, 30, n_campaigns)),
            -rng.integers(0, 10, n_campaigns),
            -rng.integers(30, 200, n_campaigns),
            -rng.integers(30, 120, n_campaigns),
            -rng.integers(200, 400, n_campaigns),
            -rng.integers(400, 700, n_campaigns),
        ],
    )
    lengths = rng.integers(60, 240, n_campaigns)
    # Some active campaigns end on the anchor day, so the lifecycle job has completions to make.
    lengths = np.where((statuses == "active") & (idx % 3 == 0), -start_offsets, lengths)
    lengths = np.where(np.isin(statuses, ["completed", "closed"]), np.minimum(lengths, -start_offsets - 1), lengths)
    start_dates = [anchor_day + timedelta(days=int(o)) for o in start_offsets]
    end_dates = [s + timedelta(days=int(n)) for s, n in zip(start_dates, lengths, strict=True)]
    target_vol = rng.integers(10, 80, n_campaigns)
    target_ben = rng.integers(20, 150, n_campaigns)
    budget = np.round(rng.uniform(5_000, 120_000, n_campaigns), 2)
    campaign_company = rng.integers(0, n_companies, n_campaigns)
    campaign_ids = _uuids(rng, n_campaigns)
    is_credits = pricing == "credits"
    pg["campaigns"] = pl.DataFrame(
        {
            "id": campaign_ids,
            "name": [
                f"{status.title()} {model} campaign {i + 1}"
                for i, (status, model) in enumerate(zip(statuses, pricing, strict=True))
            ],
            "description": ["Seeded demo campaign"] * n_campaigns,
            "company_id": company_ids.gather(campaign_company),
            "program_template_id": pg["program_templates"]["id"].gather(campaign_company * 2),
            "beneficiary_group_id": pg["beneficiary_groups"]["id"].gather(campaign_company * 2 + 1),
            "start_date": pl.Series(start_dates, dtype=pl.Date),
            "end_date": pl.Series(end_dates, dtype=pl.Date),
            "quarter": [f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in start_dates],
            "status": statuses,
            "priority": _choice(rng, ("low", "medium", "high", "critical"), n_campaigns),
            "target_volunteers": target_vol,
            "target_beneficiaries": target_ben,
            "max_sessions": [None if i % 4 == 3 else int(v) for i, v in enumerate(rng.integers(50, 400, n_campaigns))],
            "budget_allocated": budget,
            "budget_spent": np.round(budget * rng.uniform(0, 1.05, n_campaigns), 2),
            "pricing_model": pricing,
            "committed_seats": np.where(np.isin(pricing, ["seats", "bundle"]), target_vol, None).tolist(),
            "seat_price_per_month": np.where(pricing == "seats", 25.0, None).tolist(),
            "credit_allocation": np.where(is_credits, rng.integers(200, 2_000, n_campaigns), None).tolist(),
            "credit_consumption_rate": np.where(is_credits, 1.5, None).tolist(),
            "iaas_metrics": np.where(
                pricing == "iaas",
                '{"learnersCommitted": 100, "pricePerLearner": 50, "outcomesGuaranteed": ["confidence"]}',
                None,
            ).tolist(),
            "l2i_subscription_id": pl.Series(
                [
                    pg["l2i_subscriptions"]["id"][int(c)] if p == "bundle" else None
                    for c, p in zip(campaign_company, pricing, strict=True)
                ],
                dtype=pl.String,
            ),
            "bundle_allocation_percentage": np.where(pricing == "bundle", 0.25, None).tolist(),
            "is_active": statuses != "closed",
            "is_archived": statuses == "closed",
            "created_at": _timestamps(anchor, -rng.integers(400 * US_PER_DAY, history_us, n_campaigns)),
        }
    ).with_columns(pl.col("created_at").alias("updated_at"))

    # program instances --------------------------------------------------------------------------------
    n_instances = n_of(60)
    instance_campaign = np.arange(n_instances) % n_campaigns
    campaigns = pg["campaigns"]
    inst_status = _choice(rng, ("planned", "active", "paused", "completed"), n_instances, (0.15, 0.55, 0.1, 0.2))
    share = rng.uniform(0.2, 0.7, n_instances)
    sroi = np.round(rng.uniform(0.8, 6.0, n_instances), 2)
    pg["program_instances"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_instances),
            "name": [f"Instance {i + 1}" for i in range(n_instances)],
            "campaign_id": campaign_ids.gather(instance_campaign),
            "program_template_id": campaigns["program_template_id"].gather(instance_campaign),
            "company_id": campaigns["company_id"].gather(instance_campaign),
            "beneficiary_group_id": campaigns["beneficiary_group_id"].gather(instance_campaign),
            "start_date": campaigns["start_date"].gather(instance_campaign),
            "end_date": campaigns["end_date"].gather(instance_campaign),
            "status": inst_status,
            "enrolled_volunteers": np.floor(target_vol[instance_campaign] * share).astype(np.int64),
            "enrolled_beneficiaries": np.floor(target_ben[instance_campaign] * share).astype(np.int64),
            "total_sessions_held": rng.integers(0, 80, n_instances),
            "total_hours_logged": np.round(rng.uniform(0, 300, n_instances), 2),
            "sroi_score": [
                None if rng_val < 0.2 else float(v) for rng_val, v in zip(rng.random(n_instances), sroi, strict=True)
            ],
            "outcome_scores": [
                json.dumps({"confidence": round(float(a), 3), "belonging": round(float(b), 3)})
                for a, b in rng.uniform(0.2, 0.95, (n_instances, 2))
            ],
            "volunteers_consumed": rng.integers(0, 40, n_instances),
            "credits_consumed": [None if v < 0.3 else round(float(v) * 100, 2) for v in rng.random(n_instances)],
            "learners_served": rng.integers(0, 60, n_instances),
        }
    )
    instance_ids = pg["program_instances"]["id"]

    # enrollments: unique (user, program_type, instance) -----------------------------------------------
    n_enroll = n_of(1_000)
    enrolled_offsets = -rng.integers(US_PER_DAY, history_us, n_enroll)
    completed = rng.random(n_enroll) < 0.3
    completion_offsets = np.minimum(enrolled_offsets + rng.integers(US_PER_DAY, 120 * US_PER_DAY, n_enroll), -1)
    enroll = pl.DataFrame(
        {
            "id": _uuids(rng, n_enroll),
            "user_id": user_ids.gather(rng.integers(0, n_users, n_enroll)),
            "program_type": _choice(rng, ("buddy", "language", "mentorship", "upskilling"), n_enroll),
            "program_instance_id": instance_ids.gather(rng.integers(0, n_instances, n_enroll)),
            "enrolled_at": _timestamps(anchor, enrolled_offsets),
            "status": np.where(completed, "completed", _choice(rng, ("active", "dropped"), n_enroll, (0.9, 0.1))),
            "completed_at": _timestamps(anchor, completion_offsets),
        }
    ).with_columns(pl.when(pl.col("status") == "completed").then(pl.col("completed_at")).alias("completed_at"))
    pg["program_enrollments"] = enroll.unique(
        ["user_id", "program_type", "program_instance_id"], keep="first", maintain_order=True
    )

    # Kintell sessions: some completed in the last two days, so hourly credit usage has work ------------
    n_sessions = n_of(2_000)
    scheduled_offsets = -rng.integers(0, history_us, n_sessions)
    recent = rng.random(n_sessions) < 0.1
    scheduled_offsets = np.where(recent, -rng.integers(0, 2 * US_PER_DAY, n_sessions), scheduled_offsets)
    is_done = rng.random(n_sessions) < 0.85
    duration = rng.integers(30, 91, n_sessions)
    pg["kintell_sessions"] = (
        pl.DataFrame(
            {
                "id": _uuids(rng, n_sessions),
                "external_session_id": [f"kin-{seed}-{i:08d}" for i in range(n_sessions)],
                "session_type": _choice(rng, ("language", "mentorship"), n_sessions),
                "participant_id": user_ids.gather(rng.integers(0, n_users, n_sessions)),
                "volunteer_id": user_ids.gather(rng.integers(0, n_users, n_sessions)),
                "scheduled_at": _timestamps(anchor, scheduled_offsets - 3_600_000_000),
                "completed_at": _timestamps(anchor, scheduled_offsets),
                "duration_minutes": duration,
                "rating": np.round(rng.uniform(0.4, 1.0, n_sessions), 2),
                "feedback_text": _choice(rng, FEEDBACK_PHRASES, n_sessions),
                "language_level": _choice(rng, ("A1", "A2", "B1", "B2", "C1", "C2"), n_sessions),
                "program_instance_id": pl.Series(
                    _maybe(
                        rng,
                        instance_ids.gather(rng.integers(0, n_instances, n_sessions)).to_numpy().astype(object),
                        0.8,
                    ),
                    dtype=pl.String,
                ),
            }
        )
        .with_columns(
            pl.when(pl.Series(is_done)).then(pl.col(c)).alias(c) for c in ("completed_at", "duration_minutes", "rating")
        )
        .with_columns(pl.col("feedback_text").replace("", None))
    )

    # Buddy matches and events -------------------------------------------------------------------------
    n_matches = n_of(300)
    pg["buddy_matches"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_matches),
            "participant_id": user_ids.gather(rng.integers(0, n_users, n_matches)),
            "buddy_id": user_ids.gather(rng.integers(0, n_users, n_matches)),
            "matched_at": _timestamps(anchor, -rng.integers(0, history_us, n_matches)),
            "status": _choice(rng, ("active", "ended"), n_matches, (0.8, 0.2)),
            "program_instance_id": instance_ids.gather(rng.integers(0, n_instances, n_matches)),
        }
    )
    n_events = n_of(20_000)
    # Skewed activity: a few very active volunteers, a long tail.
    actor = np.minimum((rng.pareto(1.2, n_events) * n_users / 20).astype(np.int64), n_users - 1)
    actor_ids = user_ids.gather(actor).to_numpy().astype(object)
    external_by_user = dict(zip(buddy_user_index.tolist(), buddy_external.tolist(), strict=True))
    use_external = np.asarray([a in external_by_user for a in actor.tolist()]) & (rng.random(n_events) < 0.7)
    event_user = np.where(use_external, [external_by_user.get(a, "") for a in actor.tolist()], actor_ids)
    event_user = np.where(rng.random(n_events) < 0.005, None, event_user)  # a few anonymous events (no user)
    event_offsets = -rng.integers(0, history_us, n_events)
    event_offsets = np.where(
        rng.random(n_events) < 0.001, rng.integers(1, 5 * US_PER_DAY, n_events), event_offsets
    )  # a few future-dated rows, which VIS must ignore until due
    pg["buddy_system_events"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_events),
            "event_id": _uuids(rng, n_events),
            "event_type": _choice(rng, BUDDY_EVENT_TYPES, n_events, BUDDY_EVENT_WEIGHTS),
            "user_id": pl.Series(event_user, dtype=pl.String),
            "timestamp": _timestamps(anchor, event_offsets),
            "payload": ["{}"] * n_events,
            "created_at": _timestamps(anchor, event_offsets + rng.integers(0, 60_000_000, n_events)),
        }
    )

    # outcome scores: five dimensions per text, so the natural key is unique ----------------------------
    # The table is insert-only (analytics.md §2): the classifier appends scores as texts arrive, so its rows lie in
    # created_at order on disk. The seed loads them in that order too.
    n_scores = n_of(20_000)
    n_texts = (n_scores + 4) // 5
    text_ids = _uuids(rng, n_texts)
    text_index = np.arange(n_scores) // 5
    text_user = rng.integers(0, n_users, n_texts)
    text_company = rng.integers(0, n_companies, n_texts)
    pg["outcome_scores"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_scores),
            "user_id": user_ids.gather(text_user[text_index]),
            "company_id": company_ids.gather(text_company[text_index]),
            "text_id": text_ids.gather(text_index),
            "text_type": np.where(text_index % 3 == 0, "survey", "kintell_feedback"),
            "dimension": np.asarray(OUTCOME_DIMENSIONS, dtype=object)[np.arange(n_scores) % 5],
            "score": np.round(rng.uniform(0, 1, n_scores), 3),
            "confidence": np.round(rng.uniform(0.5, 0.9, n_scores), 3),
            "model_version": ["seed-v1"] * n_scores,
            "method": ["ai_classifier"] * n_scores,
            "provider_used": ["seed"] * n_scores,
            "language": _choice(rng, ("en", "uk", "no", "unknown"), n_scores),
            "created_at": _timestamps(anchor, -rng.integers(0, history_us, n_texts)[text_index]),
        }
    ).sort("created_at", maintain_order=True)

    # partner deliveries, notifications, budgets -------------------------------------------------------
    n_deliveries = n_of(50)
    platforms = _choice(rng, ("benevity", "goodera", "workday"), n_deliveries)
    pg["impact_deliveries"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_deliveries),
            "company_id": company_ids.gather(rng.integers(0, n_companies, n_deliveries)),
            "platform": platforms,
            "payload_hash": [f"{i:064x}" for i in range(n_deliveries)],
            "payload_sample": [json.dumps({"transactionId": f"txn-{seed}-{i:06d}"}) for i in range(n_deliveries)],
            "status": ["pending"] * n_deliveries,
            "retries": [0] * n_deliveries,
            "created_at": _timestamps(anchor, -rng.integers(0, 30 * US_PER_DAY, n_deliveries)),
        }
    )
    pg["notification_schedules"] = pl.DataFrame(
        {
            "id": _uuids(rng, 1),
            "company_id": company_ids.head(1),
            "name": ["Weekly impact report"],
            "cron_expression": ["0 9 * * 1"],
            "timezone": ["Europe/Oslo"],
            "type": ["email"],
            "template_id": ["weekly-report"],
            "recipients": ['["reports@teei.local"]'],
            "subject": ["Weekly Impact Report - {{reportPeriod.start}} to {{reportPeriod.end}}"],
            "payload": ['{"companyName": "Acme 1", "reportUrl": "https://app.teei-platform.com/reports/weekly"}'],
            "created_at": pl.Series([anchor - timedelta(days=1)], dtype=pl.Datetime("us", "UTC")),
        }
    )
    n_notifications = n_of(20)
    pg["notifications_queue"] = pl.DataFrame(
        {
            "id": _uuids(rng, n_notifications),
            "company_id": company_ids.gather(rng.integers(0, n_companies, n_notifications)),
            "type": ["email"] * n_notifications,
            "channel": ["smtp"] * n_notifications,
            "template_id": ["welcome"] * n_notifications,
            "recipient": [f"user{i:07d}@teei.local" for i in range(n_notifications)],
            "subject": ["Welcome to TEEI Platform"] * n_notifications,
            "payload": [json.dumps({"userName": f"User {i}"}) for i in range(n_notifications)],
            "status": ["sent"] * n_notifications,
            "sent_at": _timestamps(anchor, -rng.integers(US_PER_DAY, 30 * US_PER_DAY, n_notifications)),
            "dedup_key": [f"seed:{seed}:welcome:{i}" for i in range(n_notifications)],
            "provider": ["smtp"] * n_notifications,
        }
    )
    pg["q2q_budgets"] = pl.DataFrame(
        {
            "tenant_id": company_ids,
            "monthly_budget_usd": [1000.0] * n_companies,
            "daily_budget_usd": [None] * n_companies,
            "allow_override": [False] * n_companies,
        },
        schema_overrides={"daily_budget_usd": pl.Float64},
    )

    _generate_telemetry(data, rng, anchor, company_ids, n_of)
    return data


def _generate_telemetry(
    data: SeedData, rng: np.random.Generator, anchor: datetime, company_ids: pl.Series, n_of
) -> None:
    """FinOps telemetry over the last 30 days, for ClickHouse (analytics.md §7)."""
    window_ms = 30 * 86_400_000
    anchor_ms = int(anchor.timestamp() * 1000)
    tenants = company_ids.to_numpy().astype(object)

    def ts(n: int) -> pl.Series:
        return pl.Series(anchor_ms - rng.integers(1, window_ms, n)).cast(pl.Datetime("ms", "UTC"))

    n_ai = n_of(2_000)
    inp = rng.integers(100, 4_000, n_ai)
    out = rng.integers(50, 1_500, n_ai)
    data.clickhouse["ai_token_telemetry"] = pl.DataFrame(
        {
            "tenant_id": _choice(rng, tenants, n_ai),
            "request_id": _uuids(rng, n_ai),
            "model": _choice(rng, AI_MODELS, n_ai),
            "region": _choice(rng, REGIONS, n_ai),
            "service": _choice(rng, SERVICES, n_ai),
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "cost_usd": np.round((inp * 0.15 + out * 0.6) / 1e6, 6),
            "latency_ms": rng.integers(80, 4_000, n_ai),
            "user_id": ["" for _ in range(n_ai)],
            "metadata": ["{}"] * n_ai,
            "timestamp": ts(n_ai),
        }
    )
    n_compute = n_of(500)
    runtime = np.round(rng.uniform(1, 3_600, n_compute), 3)
    data.clickhouse["compute_telemetry"] = pl.DataFrame(
        {
            "tenant_id": _choice(rng, tenants, n_compute),
            "job_id": _uuids(rng, n_compute),
            "service": _choice(rng, SERVICES, n_compute),
            "region": _choice(rng, REGIONS, n_compute),
            "instance_type": _choice(rng, ("t3.medium", "c6i.large", "m6i.xlarge"), n_compute),
            "runtime_seconds": runtime,
            "cost_usd": np.round(runtime * 0.0000125, 6),
            "timestamp": ts(n_compute),
        }
    )
    days = [(anchor - timedelta(days=d)).date() for d in range(1, 31)]
    grid = (
        pl.DataFrame({"tenant_id": tenants})
        .join(pl.DataFrame({"snapshot_date": days}), how="cross")
        .join(pl.DataFrame({"storage_type": ["s3", "postgres"]}), how="cross")
        .join(pl.DataFrame({"region": list(REGIONS[:2])}), how="cross")
    )
    stored = rng.integers(1_000_000, 50_000_000_000, grid.height)
    data.clickhouse["storage_telemetry"] = grid.with_columns(
        bytes_stored=pl.Series(stored),
        cost_usd=pl.Series(np.round(stored / 1e9 * 0.023 / 30, 6)),
        created_at=pl.col("snapshot_date").cast(pl.Datetime("us", "UTC")),
    ).select("tenant_id", "storage_type", "region", "bytes_stored", "cost_usd", "snapshot_date", "created_at")
    n_export = n_of(300)
    size = rng.integers(10_000, 20_000_000, n_export)
    data.clickhouse["export_telemetry"] = pl.DataFrame(
        {
            "tenant_id": _choice(rng, tenants, n_export),
            "export_type": _choice(rng, ("pdf", "csv", "pptx"), n_export),
            "report_type": _choice(rng, ("executive-summary", "impact-analysis"), n_export),
            "file_size_bytes": size,
            "cost_usd": np.round(size / 1e9 * 0.09, 6),
            "timestamp": ts(n_export),
        }
    )
    n_egress = n_of(300)
    moved = rng.integers(1_000_000, 5_000_000_000, n_egress)
    data.clickhouse["egress_telemetry"] = pl.DataFrame(
        {
            "tenant_id": _choice(rng, tenants, n_egress),
            "source_region": _choice(rng, REGIONS, n_egress),
            "destination_region": _choice(rng, REGIONS, n_egress),
            "bytes_transferred": moved,
            "cost_usd": np.round(moved / 1e9 * 0.02, 6),
            "timestamp": ts(n_egress),
        }
    )


BULK_ROWS = 100_000  # above this, building secondary indexes once after COPY beats maintaining them per row


@contextmanager
def indexes_rebuilt_after(connection: sa.Connection, table: str) -> Iterator[None]:
    """Drop the table's non-constraint indexes, run the load, recreate them from their own definitions."""
    indexes = connection.execute(sa.text(query("seed/secondary_indexes")), {"table": table}).all()
    for name, _ in indexes:
        connection.execute(sa.text(f'DROP INDEX "{name}"'))
    yield
    for _, definition in indexes:
        connection.execute(sa.text(definition))


def is_seeded(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT EXISTS (SELECT 1 FROM companies)")).scalar_one()


def load_postgres(engine: sa.Engine, data: SeedData, bulk_rows: int = BULK_ROWS) -> LoadReport:
    """COPY every frame in one transaction; the tables must be empty (refuses to mix two seeds)."""
    if is_seeded(engine):
        raise RuntimeError("the database already holds data (companies is not empty); run `teei-pipelines reset`")
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for table, frame in data.postgres.items():
            if frame.height >= bulk_rows:
                with indexes_rebuilt_after(connection, table):
                    copy_in(connection, table, frame)
            else:
                copy_in(connection, table, frame)
    return LoadReport({t: f.height for t, f in data.postgres.items()}, time.perf_counter() - started)


def load_clickhouse(client: Client, database: str, data: SeedData) -> LoadReport:
    started = time.perf_counter()
    for table, frame in data.clickhouse.items():
        client.command(f"TRUNCATE TABLE IF EXISTS {database}.{table}")
        client.insert_arrow(f"{database}.{table}", frame.to_arrow())
    return LoadReport({t: f.height for t, f in data.clickhouse.items()}, time.perf_counter() - started)


def anchor_from(value: str | date | None) -> datetime:
    if value is None:
        return default_anchor()
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
