"""Synthetics area (q2q-synthetics.md §7-§10): tenant monitors, connectors, the trust center, our own stack."""

import dagster as dg

from teei_pipelines.defs.synthetics.assets import fast_probes, probes
from teei_pipelines.defs.synthetics.schedules import (
    synthetics_fast_job,
    synthetics_fast_schedule,
    synthetics_job,
    synthetics_schedule,
)

defs = dg.Definitions(
    assets=[probes, fast_probes],
    jobs=[synthetics_job, synthetics_fast_job],
    schedules=[synthetics_schedule, synthetics_fast_schedule],
)
