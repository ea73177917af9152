"""A small HTTP app on loopback serving every route the synthetic monitors call, good by default; a test switches
one route to a bad mode ("500", "slow", "malformed" or a route-specific fault) and reads the request log."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from teei_pipelines.devstack import free_port, wait_for_port

PDF = b"%PDF-1.7\n% TEEI Watermark\n/Producer (TEEI Reports) Evidence Hash\n" + b"0" * 2048
PPTX = b"PK\x03\x04" + b"Cover Title KPI Metric Chart graph Evidence Link " + b"0" * 11_000
TILES = [{"label": f"KPI {i}", "type": "number", "value": i} for i in range(6)]
EVIDENCE_ITEMS = [
    {"id": f"ev-{i}", "type": "quantitative", "source": "kintell", "metadata": {"k": i}} for i in range(50)
]


@dataclass
class TargetState:
    modes: dict[str, str] = field(default_factory=dict)
    slow_s: float = 1.2
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def reset(self) -> None:
        self.modes.clear()
        self.requests.clear()
        self.slow_s = 1.2


def build_app(state: TargetState) -> Starlette:
    def route(name: str, good, methods=("GET",), path: str | None = None) -> Route:
        async def endpoint(request: Request) -> Response:
            state.requests.append((request.method, request.url.path, dict(request.headers)))
            mode = state.modes.get(name, "ok")
            if mode == "500":
                return JSONResponse({"error": "boom"}, status_code=500)
            if mode == "slow":
                await asyncio.sleep(state.slow_s)
            if mode == "malformed":
                return Response(b"{not json", media_type="application/json")
            if request.method == "HEAD":
                return Response(status_code=200)
            result = good(request, mode)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return Route(path or f"/{name}", endpoint, methods=list(methods))

    def html(_request, _mode) -> Response:
        return Response(b"<html><body>" + b"x" * 5000 + b"</body></html>", media_type="text/html")

    def generate(_request, mode):
        body = {
            "reportId": "r-1",
            "content": {"narrative": "word " * 60, "evidence": [1, 2, 3]},
            "cached": False,
            "timings": {"q2qProcessing": 1200, "narrativeGeneration": 2000},
            "metadata": {"confidenceScore": 0.82},
        }
        if mode == "no_content":
            body.pop("content")
        if mode == "slow_timings":
            body["timings"]["q2qProcessing"] = 4500
        return JSONResponse(body, status_code=201)

    def export(kind: str):
        def handler(_request, mode):
            if mode == "no_url":
                return {"status": "ok"}
            return {"downloadUrl": f"/files/report.{kind}"}

        return handler

    def file(content: bytes):
        def handler(_request, mode):
            if mode == "bad_magic":
                return Response(b"<html>" + content[6:])
            if mode == "small":
                return Response(content[:500])
            return Response(content)

        return handler

    def stateful(state_name: str, status: int = 200):
        def handler(request, mode):
            return JSONResponse(
                {"id": "draft-1", "state": "wrong" if mode == "bad_state" else state_name, "notificationsQueued": True},
                status_code=status,
            )

        return handler

    def evidence_list(request, mode):
        if mode == "empty":
            return {"items": [], "total": 0}
        items = [dict(item) for item in EVIDENCE_ITEMS]
        if mode == "missing_source":
            items[3].pop("source")
        return {"items": items if request.query_params.get("page") == "1" else items[:10], "total": 60}

    def tiles(_request, mode):
        if mode == "invalid_tile":
            return {"tiles": [*TILES[:5], {"label": "Broken", "type": "number", "value": None}]}
        if mode == "not_array":
            return {"tiles": {"a": 1}}
        return {"tiles": TILES}

    def connector(_request, mode):
        status = "unhealthy" if mode == "unhealthy" else "healthy"
        redis = "degraded" if mode == "degraded_redis" else "healthy"
        return {
            "status": status,
            "version": "1.4.2",
            "uptime": 3600,
            "dependencies": {"database": "healthy", "redis": redis, "queue": "healthy", "externalAPI": "healthy"},
        }

    def trust_center(_request, mode):
        indicator = {"ok": "none", "minor": "minor", "critical": "critical"}.get(mode, "none")
        return {
            "status": {"indicator": indicator},
            "incidents": [{"status": "investigating"}, {"status": "resolved"}],
            "scheduled_maintenances": [{"status": "scheduled"}, {"status": "completed"}],
            "components": [{"status": "operational"}, {"status": "degraded_performance"}, {"status": "operational"}],
        }

    routes = [
        route("health", lambda r, m: {"status": "ok"}, path="/api/health"),
        route("saml", lambda r, m: Response(b"<EntityDescriptor/>"), path="/auth/saml/metadata"),
        route("oidc", lambda r, m: {"issuer": "x"}, path="/auth/oidc/.well-known/openid-configuration"),
        route("login", html, path="/auth/login"),
        route("dashboard", html, path="/cockpit/dashboard"),
        route("metrics_summary", lambda r, m: {"ok": True}, path="/api/metrics/summary"),
        route("reports_recent", lambda r, m: [], path="/api/reports/recent"),
        route("governance_status", lambda r, m: {"ok": True}, path="/api/governance/status"),
        route("stream", lambda r, m: {}, methods=("HEAD", "GET"), path="/api/stream/metrics"),
        route("generate", generate, methods=("POST",), path="/api/reports/generate"),
        route("draft", stateful("draft", 201), methods=("POST",), path="/api/reports/draft"),
        route("export_pdf", export("pdf"), methods=("POST",), path="/api/reports/{rid}/export/pdf"),
        route("export_pptx", export("pptx"), methods=("POST",), path="/api/reports/{rid}/export/pptx"),
        route("file_pdf", file(PDF), path="/files/report.pdf"),
        route("file_pptx", file(PPTX), path="/files/report.pptx"),
        route("review", stateful("in_review"), methods=("POST",), path="/api/reports/{rid}/submit-review"),
        route("diff", lambda r, m: {"diff": [{"op": "replace"}]}, path="/api/reports/{rid}/version-diff"),
        route("approve", stateful("approved"), methods=("POST",), path="/api/reports/{rid}/approve"),
        route("audit", lambda r, m: {"entries": [1, 2, 3]}, path="/api/reports/{rid}/audit-trail"),
        route("delete", lambda r, m: Response(status_code=204), methods=("DELETE",), path="/api/reports/{rid}"),
        route("evidence_list", evidence_list, path="/api/evidence/list"),
        route("evidence_search", lambda r, m: {"results": [{"id": "ev-1"}]}, path="/api/evidence/search"),
        route(
            "lineage", lambda r, m: {"items": [{"id": "src-1", "type": "session"}]}, path="/api/evidence/{eid}/lineage"
        ),
        route("deck", lambda r, m: {"deckId": "d", "companyId": "company-7"}, path="/boardroom/{deck}"),
        route("tiles", tiles, path="/api/companies/{cid}/boardroom/tiles"),
        route("connector", connector, path="/connectors/{name}/health"),
        route("trust_center", trust_center, path="/status.json"),
    ]
    return Starlette(routes=routes)


@contextmanager
def serve_target() -> Iterator[tuple[str, TargetState]]:
    state = TargetState()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, 20)
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        time.sleep(0)


def requests_to(state: TargetState, method: str, prefix: str) -> list[dict[str, Any]]:
    return [headers for m, path, headers in state.requests if m == method and path.startswith(prefix)]
