"""Q2Q on real PostgreSQL: evidence extraction once per session and paid for, budgets that block and never
overspend under concurrency, the cache a warm run reads, and idempotent budget periods."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest
import sqlalchemy as sa

from teei_pipelines import seed
from teei_pipelines.defs.q2q import store
from teei_pipelines.defs.q2q.assets import budget_periods_daily, budget_periods_monthly, cache, evidence
from teei_pipelines.defs.q2q.evidence import extract_evidence
from teei_pipelines.domain import q2q
from teei_pipelines.pgio import query

from ..conftest import pg_rows, pg_scalar

TODAY = datetime.now(UTC).date()
COST = q2q.CLASSIFICATION_COST_USD


@pytest.fixture
def seeded(engine):
    seed.load_postgres(engine, seed.generate(0.25, 7, seed.default_anchor()))
    return engine


def materialize(assets, postgres, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(assets, resources={"postgres": postgres}, instance=dg.DagsterInstance.ephemeral(), **kwargs)


def meta(result, node: str) -> dict:
    return {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def texts_by_tenant(engine) -> dict[str, int]:
    found = pg_rows(
        engine,
        "SELECT coalesce(pi.company_id::text, 'platform'), count(*) FROM kintell_sessions s "
        "LEFT JOIN program_instances pi ON pi.id = s.program_instance_id "
        "WHERE btrim(coalesce(s.feedback_text, '')) <> '' GROUP BY 1",
    )
    return dict(found)


def test_evidence_classifies_every_text_once_and_charges_its_tenant(seeded, postgres):
    expected_by_tenant = texts_by_tenant(seeded)
    total = sum(expected_by_tenant.values())
    assert total > 100

    first = materialize([evidence], postgres)
    report = meta(first, "q2q__evidence")
    assert report["classified"] == total and report["budget_blocked"] == 0
    assert report["charged_usd"] == str(COST * total)
    assert first.get_asset_check_evaluations()[0].passed

    # outcome rows equal the reference classifier, text by text
    sessions = pg_rows(seeded, "SELECT id::text, feedback_text FROM kintell_sessions WHERE feedback_text <> ''")
    stored = pg_rows(
        seeded,
        "SELECT text_id::text, dimension, score::text, confidence::text, topics FROM outcome_scores "
        "WHERE model_version = 'taxonomy-v1' AND method = 'rule_based' AND provider_used = 'taxonomy'",
    )
    expected = sorted(
        (session_id, s.dimension, str(s.score), str(s.confidence), list(s.topics))
        for session_id, text in sessions
        for s in q2q.classify_text(text)
    )
    assert sorted((r[0], r[1], r[2], r[3], r[4]) for r in stored) == expected
    assert report["outcome_rows"] == len(expected)

    # every tenant paid 0.0005 per text, monthly and daily
    spent = dict(pg_rows(seeded, "SELECT tenant_id, spent_usd FROM q2q_budget_usage WHERE \"window\" = 'monthly'"))
    assert spent == {tenant: COST * n for tenant, n in expected_by_tenant.items()}

    # the second run finds nothing: no new rows, no new charge
    second = meta(materialize([evidence], postgres), "q2q__evidence")
    assert second["texts"] == 0 and second["classified"] == 0
    assert pg_scalar(seeded, "SELECT count(*) FROM outcome_scores WHERE model_version = 'taxonomy-v1'") == len(expected)
    assert pg_scalar(seeded, "SELECT sum(spent_usd) FROM q2q_budget_usage WHERE \"window\" = 'daily'") == COST * total
    assert not pg_scalar(seeded, query("q2q/evidence_pending_exists"))


def test_the_ledger_check_counts_texts_whose_outcome_rows_went_missing(seeded, postgres):
    """A lost write, simulated by a trigger that deletes every outcome row of one dimension as it is inserted: the
    check fails and counts exactly the texts that had that dimension. A later run is checked on its own texts."""
    sessions = pg_rows(seeded, "SELECT id::text, feedback_text FROM kintell_sessions WHERE feedback_text <> ''")
    texts_by_dimension: dict[str, int] = {}
    for _, text in sessions:
        for dimension in {score.dimension for score in q2q.classify_text(text)}:
            texts_by_dimension[dimension] = texts_by_dimension.get(dimension, 0) + 1
    lost, affected = min(texts_by_dimension.items(), key=lambda item: item[1])
    assert 0 < affected < len(sessions)
    with seeded.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE FUNCTION lose_outcome() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN DELETE FROM outcome_scores WHERE id = NEW.id; RETURN NULL; END $$"
            )
        )
        connection.execute(
            sa.text(
                "CREATE TRIGGER lose_outcome AFTER INSERT ON outcome_scores FOR EACH ROW "
                f"WHEN (NEW.dimension = '{lost}') EXECUTE FUNCTION lose_outcome()"
            )
        )
    damaged = materialize([evidence], postgres).get_asset_check_evaluations()[0]
    assert not damaged.passed
    assert damaged.metadata["mismatched_texts"].value == affected
    assert damaged.metadata["texts_checked"].value == len(sessions)

    with seeded.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER lose_outcome ON outcome_scores"))
        connection.execute(
            sa.text("UPDATE kintell_sessions SET feedback_text = 'A new text' WHERE feedback_text IS NULL")
        )
    fresh = materialize([evidence], postgres).get_asset_check_evaluations()[0]
    added = pg_scalar(seeded, "SELECT count(*) FROM kintell_sessions WHERE feedback_text = 'A new text'")
    assert fresh.passed and fresh.metadata["texts_checked"].value == added > 0


def test_named_sessions_blank_text_and_rating_text(seeded, postgres):
    blank, other = pg_rows(
        seeded, "SELECT id::text FROM kintell_sessions WHERE feedback_text IS NULL ORDER BY id LIMIT 2"
    )
    unknown = "00000000-0000-0000-0000-000000000001"
    report = extract_evidence(seeded, today=TODAY, session_ids=[blank[0], unknown])
    assert report.no_text == 1 and report.classified == 0 and report.unknown_sessions == [unknown]
    assert pg_scalar(seeded, "SELECT count(*) FROM q2q_budget_usage") == 0  # nothing charged, not even a row

    # a rating's feedbackText is classified although the session has no text
    report = extract_evidence(
        seeded, today=TODAY, session_ids=[other[0]], feedback_texts={other[0]: "My resume and career got better"}
    )
    assert report.classified == 1
    assert pg_rows(
        seeded, "SELECT dimension, score::text FROM outcome_scores WHERE text_id = :id", {"id": other[0]}
    ) == [("job_readiness", "0.667")]


def set_budget(engine, tenant: str, monthly: str, daily: str | None = None, override: bool = False) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO q2q_budgets (tenant_id, monthly_budget_usd, daily_budget_usd, allow_override) "
                "VALUES (:t, :m, :d, :o) ON CONFLICT (tenant_id) DO UPDATE SET monthly_budget_usd = :m, "
                "daily_budget_usd = :d, allow_override = :o"
            ),
            {"t": tenant, "m": monthly, "d": daily, "o": override},
        )


def busiest_tenant(engine) -> tuple[str, int]:
    return max(texts_by_tenant(engine).items(), key=lambda item: item[1])


def test_a_tenant_over_budget_is_blocked_with_a_reason_and_alerted_once(seeded, postgres, monkeypatch):
    monkeypatch.setenv("ALERT_EMAIL_TO", "ops@teei.local")
    tenant, n_texts = busiest_tenant(seeded)
    assert n_texts > 3
    set_budget(seeded, tenant, monthly="100", daily=str(COST * 2))

    report = meta(materialize([evidence], postgres), "q2q__evidence")
    assert report["budget_blocked"] == n_texts - 2
    assert report["blocked_reasons"][tenant] == "Daily budget exceeded: $0.0010 / $0.00"
    assert pg_scalar(seeded, "SELECT count(*) FROM q2q_classifications WHERE tenant_id = :t", {"t": tenant}) == 2
    events = pg_rows(
        seeded,
        'SELECT "window", event_type, threshold, count(*) FROM q2q_budget_events WHERE tenant_id = :t '
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        {"t": tenant},
    )
    assert events == [("daily", "blocked", None, n_texts - 2), ("daily", "warning", 80, 1), ("daily", "warning", 90, 1)]
    alerts = pg_rows(
        seeded,
        "SELECT dedup_key FROM notifications_queue WHERE template_id = 'q2q-budget-alert' ORDER BY 1",
    )
    period = TODAY.isoformat()
    assert [a[0] for a in alerts] == [
        f"q2q:{tenant}:daily:{period}:blocked::ops@teei.local",
        f"q2q:{tenant}:daily:{period}:warning:80:ops@teei.local",
        f"q2q:{tenant}:daily:{period}:warning:90:ops@teei.local",
    ]
    # blocked texts are not retried automatically …
    assert not pg_scalar(seeded, query("q2q/evidence_pending_exists"))
    assert meta(materialize([evidence], postgres), "q2q__evidence")["texts"] == 0
    # … but naming them retries them once the budget allows
    set_budget(seeded, tenant, monthly="100")
    blocked_ids = [
        r[0]
        for r in pg_rows(
            seeded,
            "SELECT DISTINCT request_id FROM q2q_budget_events WHERE tenant_id = :t AND event_type = 'blocked'",
            {"t": tenant},
        )
    ]
    report = extract_evidence(seeded, today=TODAY, session_ids=blocked_ids)
    assert report.classified == n_texts - 2


def test_override_tenant_is_charged_past_its_budget_with_exceeded_events(seeded):
    tenant, n_texts = busiest_tenant(seeded)
    set_budget(seeded, tenant, monthly=str(COST), override=True)
    report = extract_evidence(seeded, today=TODAY)
    assert report.budget_blocked == 0
    assert (
        pg_scalar(
            seeded,
            "SELECT count(*) FROM q2q_budget_events WHERE tenant_id = :t AND event_type = 'exceeded' "
            "AND \"window\" = 'monthly'",
            {"t": tenant},
        )
        == n_texts - 1
    )


def test_concurrent_runs_never_overspend_and_classify_each_text_once(seeded):
    tenant, _n_texts = busiest_tenant(seeded)
    allowed = 5
    set_budget(seeded, tenant, monthly=str(COST * allowed), daily="100")
    ids = [
        r[0]
        for r in pg_rows(
            seeded,
            "SELECT s.id::text FROM kintell_sessions s JOIN program_instances pi ON pi.id = s.program_instance_id "
            "WHERE pi.company_id::text = :t AND btrim(coalesce(s.feedback_text, '')) <> ''",
            {"t": tenant},
        )
    ]
    barrier = threading.Barrier(6)
    reports = []
    errors = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            # overlapping slices: each text is named by two or three workers
            mine = ids[index::2] if index % 2 else ids
            reports.append(extract_evidence(seeded, today=TODAY, session_ids=mine))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    spent = pg_scalar(
        seeded, "SELECT spent_usd FROM q2q_budget_usage WHERE tenant_id = :t AND \"window\" = 'monthly'", {"t": tenant}
    )
    assert spent == COST * allowed
    assert sum(r.classified for r in reports) == allowed
    assert pg_scalar(seeded, "SELECT count(*) FROM q2q_classifications WHERE tenant_id = :t", {"t": tenant}) == allowed
    assert (
        pg_scalar(
            seeded,
            "SELECT count(*) FROM (SELECT text_id FROM q2q_classifications GROUP BY text_id HAVING count(*) > 1) d",
        )
        == 0
    )


def test_check_and_charge_is_atomic_with_the_callers_transaction(engine):
    with pytest.raises(RuntimeError), engine.begin() as connection:
        decision = store.check_and_charge(connection, "tenant-a", COST, "r1", TODAY)
        assert decision.allowed
        raise RuntimeError("the caller's write failed")
    assert pg_scalar(engine, "SELECT count(*) FROM q2q_budget_usage") == 0
    with engine.begin() as connection:
        store.check_and_charge(connection, "tenant-a", COST, "r2", TODAY)
    assert pg_scalar(engine, "SELECT sum(spent_usd) FROM q2q_budget_usage") == COST * 2  # daily + monthly


def test_cache_cold_then_warm(seeded, postgres):
    cold = extract_evidence(seeded, today=TODAY, limit=1)
    assert (cold.cache_hits, cold.cache_misses) == (0, 5)
    assert pg_scalar(seeded, "SELECT count(*) FROM q2q_cache WHERE kind = 'taxonomy'") == 5
    warm_again = extract_evidence(seeded, today=TODAY, limit=1)
    assert (warm_again.cache_hits, warm_again.cache_misses) == (5, 0)

    with seeded.begin() as connection:
        connection.execute(sa.text("UPDATE q2q_cache SET expires_at = now() - interval '1 second'"))
        connection.execute(
            sa.text(
                "INSERT INTO q2q_cache (key, kind, value, expires_at, warmed_at) "
                "VALUES ('prompt:stale', 'prompt', '{}', now() - interval '1 day', now() - interval '2 days')"
            )
        )
    expired = extract_evidence(seeded, today=TODAY, limit=1)
    assert (expired.cache_hits, expired.cache_misses) == (0, 5)

    result = materialize([cache], postgres)
    metadata = meta(result, "q2q__cache")
    assert (metadata["tasks"], metadata["succeeded"], metadata["failed"]) == (10, 10, 0)
    assert metadata["expired_deleted"] == 1
    keys = [
        r[0]
        for r in pg_rows(
            seeded, "SELECT key FROM q2q_cache WHERE expires_at > now() + interval '23 hours' ORDER BY key"
        )
    ]
    assert keys == sorted([f"prompt:common:{i}" for i in range(5)] + [f"taxonomy:{d.key}" for d in q2q.TAXONOMY])
    assert pg_rows(seeded, "SELECT value->>'prompt' FROM q2q_cache WHERE key = 'prompt:common:0'") == [
        ("Classify the following feedback into outcome dimensions",)
    ]
    after = extract_evidence(seeded, today=TODAY, limit=1)
    assert (after.cache_hits, after.cache_misses) == (5, 0)


def test_budget_periods_open_the_next_period_without_zeroing_charges(engine, postgres):
    set_budget(engine, "configured", monthly="50")
    day = date(2026, 3, 14)
    with engine.begin() as connection:
        store.check_and_charge(connection, "active", COST, "r1", day)
        # a charge already landed in the next period before the reset ran
        store.check_and_charge(connection, "active", COST, "r2", day + timedelta(days=1))

    for _ in range(2):  # a re-run changes nothing
        result = materialize([budget_periods_daily], postgres, partition_key=day.isoformat())
        metadata = meta(result, "q2q__budget_periods_daily")
        assert result.get_asset_check_evaluations()[0].passed
    assert metadata["closing_spend_usd"] == {"active": {"spent": "0.000500", "warned": []}}
    next_day = pg_rows(
        engine,
        "SELECT tenant_id, spent_usd FROM q2q_budget_usage WHERE \"window\" = 'daily' AND period_start = :d "
        "ORDER BY tenant_id",
        {"d": day + timedelta(days=1)},
    )
    assert next_day == [("active", COST), ("configured", Decimal(0))]

    monthly = materialize([budget_periods_monthly], postgres, partition_key="2026-03-01")
    assert meta(monthly, "q2q__budget_periods_monthly")["period_opened"] == "2026-04-01"
    assert pg_rows(
        engine,
        "SELECT tenant_id, spent_usd FROM q2q_budget_usage WHERE \"window\" = 'monthly' "
        "AND period_start = '2026-04-01' "
        "ORDER BY tenant_id",
    ) == [("active", Decimal(0)), ("configured", Decimal(0))]
