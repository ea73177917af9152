"""The baseline for the webhook latency benchmark: a bare Starlette route on the same uvicorn, reading the body
and answering 202 with no verification, validation or storage."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def accept(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "accepted"}, status_code=202)


app = Starlette(routes=[Route("/v1/webhooks/session-completed", accept, methods=["POST"])])
