"""The code location: every area's definitions merged, with the shared resources.

Each area lives in `teei_pipelines/defs/<area>/` and exposes `defs`; adding an area means adding it to AREAS.
"""

from __future__ import annotations

import importlib

import dagster as dg

from teei_pipelines.resources.factory import build_resources

AREAS: tuple[str, ...] = (
    "impact",
    "campaigns",
    "analytics",
    "notifications",
    "q2q",
    "synthetics",
    "profiles",
    "events",
)


def with_code_references(area: dg.Definitions) -> dg.Definitions:
    """The same definitions, each asset carrying a link to the function that computes it (the catalog's
    "Code reference")."""
    return dg.Definitions(
        assets=dg.with_source_code_references(list(area.assets or [])),
        asset_checks=area.asset_checks,
        jobs=area.jobs,
        schedules=area.schedules,
        sensors=area.sensors,
        resources=area.resources,
    )


def build_definitions() -> dg.Definitions:
    area_defs = [with_code_references(importlib.import_module(f"teei_pipelines.defs.{area}").defs) for area in AREAS]
    return dg.Definitions.merge(*area_defs, dg.Definitions(resources=build_resources()))


defs = build_definitions()
