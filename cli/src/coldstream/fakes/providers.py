"""Fake enrichment and verification providers with their documented HTTP shapes, for tests and benchmarks.

One Starlette app answers ZeroBounce `GET /v2/validate` and `POST /v2/validatebatch`, Hunter
`GET /v2/email-finder`, People Data Labs `GET /v5/person/enrich`, `POST /v5/person/bulk` and
`GET /v5/company/enrich`, and any other GET as a company home page (chosen by the Host header). Every call is
counted per route and key (a bulk call's key is how many items it carried); `faults` queues scripted failures per
route (a status with headers, a delay longer than the client's timeout, or a malformed body) to exercise retries
and breakers. Inside bulk calls, addresses starting with "refused" / "dropped" (ZeroBounce: named in `errors`,
left out) and "nobody" / "badinput" (PDL: 404, 400) exercise per-item failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour: `status` (+headers), `delay` seconds before answering, or a `body` as-is."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: str | None = None


@dataclass
class ProviderState:
    """What the fake answers and what it has seen."""

    latency: float = 0.0
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, route: str) -> int:
        return sum(n for (r, _), n in self.calls.items() if r == route)


def _zerobounce_status(email: str) -> tuple[str, str]:
    local = email.partition("@")[0]
    for prefix, answer in {
        "invalid": ("invalid", "mailbox_not_found"),
        "catchall": ("catch-all", ""),
        "unknown": ("unknown", "timeout_exceeded"),
        "trap": ("spamtrap", ""),
        "role": ("do_not_mail", "role_based"),
    }.items():
        if local.startswith(prefix):
            return answer
    return "valid", ""


def _zerobounce_result(email: str) -> dict[str, object]:
    """One address's validation, as `/v2/validate` answers it and `/v2/validatebatch` lists it."""
    status, sub_status = _zerobounce_status(email)
    domain = email.rpartition("@")[2]
    return {
        "address": email,
        "status": status,
        "sub_status": sub_status,
        "free_email": False,
        "did_you_mean": None,
        "account": email.partition("@")[0],
        "domain": domain,
        "mx_found": "true",
        "mx_record": f"mx.{domain}",
        "processed_at": "2026-01-01 00:00:00.000",
    }


def _pdl_person(email: str) -> dict[str, Any]:
    """A person enrichment answer (its `status` is also the single call's HTTP status)."""
    if email.startswith("nobody"):
        return {"status": 404, "error": {"type": "not_found", "message": "No records were found matching your request"}}
    if email.startswith("badinput"):
        return {"status": 400, "error": {"type": "invalid_request_error", "message": "email is not valid"}}
    local = email.partition("@")[0]
    data = {
        "full_name": local.replace(".", " ").title(),
        "job_title": "head of growth",
        "job_title_levels": ["director"],
        "linkedin_url": f"linkedin.com/in/{local.replace('.', '-')}",
        "location_country": "germany",
    }
    return {"status": 200, "likelihood": 8, "data": data}


def build_provider_app(state: ProviderState) -> Starlette:
    async def answer(request: Request, route: str, key: str) -> Response | None:
        with state.lock:
            state.calls[(route, key)] += 1
            fault = state.faults[route].popleft() if state.faults[route] else None
        if state.latency:
            await asyncio.sleep(state.latency)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.body is not None:
            return PlainTextResponse(fault.body, status_code=fault.status, media_type="application/json")
        if fault.status != 200:
            return JSONResponse({"error": f"fault {fault.status}"}, status_code=fault.status, headers=fault.headers)
        return None

    async def validate(request: Request) -> Response:
        email = request.query_params.get("email", "")
        if (scripted := await answer(request, "zerobounce", email)) is not None:
            return scripted
        if request.query_params.get("api_key") != "zb-key":
            return JSONResponse({"error": "Invalid API Key or your account ran out of credits"})
        return JSONResponse(_zerobounce_result(email))

    async def validate_batch(request: Request) -> Response:
        body = await request.json()
        batch = body.get("email_batch") or []
        if (scripted := await answer(request, "zerobounce_batch", str(len(batch)))) is not None:
            return scripted
        if body.get("api_key") != "zb-key":
            error = {"error": "Invalid API Key or your account ran out of credits", "email_address": "all"}
            return JSONResponse({"email_batch": [], "errors": [error]})
        results, errors = [], []
        for item in batch:
            email = str(item["email_address"])
            if email.startswith("refused"):
                errors.append({"error": "Invalid email address", "email_address": email})
            elif not email.startswith("dropped"):
                results.append(_zerobounce_result(email))
        return JSONResponse({"email_batch": results, "errors": errors})

    async def email_finder(request: Request) -> Response:
        q = request.query_params
        domain = q.get("domain", "")
        if (scripted := await answer(request, "hunter", domain)) is not None:
            return scripted
        first, last = q.get("first_name", "").lower(), q.get("last_name", "").lower()
        email = f"{first[:1]}{last}@{domain}" if first and last and not domain.startswith("unknown") else None
        data: dict[str, object] = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "score": 91 if email else None,
            "domain": domain,
            "accept_all": False,
            "position": None,
            "sources": [],
            "verification": None,
        }
        return JSONResponse({"data": data, "meta": {"params": dict(q)}})

    async def person(request: Request) -> Response:
        email = request.query_params.get("email", "")
        if (scripted := await answer(request, "pdl_person", email)) is not None:
            return scripted
        answered = _pdl_person(email)
        return JSONResponse(answered, status_code=int(answered["status"]))

    async def person_bulk(request: Request) -> Response:
        requests = (await request.json()).get("requests") or []
        if (scripted := await answer(request, "pdl_person_bulk", str(len(requests)))) is not None:
            return scripted
        if not 1 <= len(requests) <= 100:
            return JSONResponse({"status": 400, "error": {"type": "invalid_request_error"}}, 400)
        answers = []
        for one in requests:
            answered = _pdl_person(str(one["params"].get("email", "")))
            answers.append({**answered, **({"metadata": one["metadata"]} if "metadata" in one else {})})
        return JSONResponse(answers)

    async def company(request: Request) -> Response:
        website = request.query_params.get("website", "")
        if (scripted := await answer(request, "pdl_company", website)) is not None:
            return scripted
        return JSONResponse(
            {
                "status": 200,
                "name": website.split(".")[0],
                "display_name": website.split(".")[0].title(),
                "size": "51-200",
                "employee_count": 120,
                "founded": 2015,
                "industry": "computer software",
                "inferred_revenue": "$10M-$25M",
                "website": website,
                "tags": ["saas", "b2b"],
                "likelihood": 9,
            }
        )

    async def homepage(request: Request) -> Response:
        host = request.headers.get("host", "").split(":")[0]
        if (scripted := await answer(request, "website", host)) is not None:
            return scripted
        name = host.split(".")[0].title()
        return HTMLResponse(
            f"<html><head><title>{name}</title><meta name='description' content='{name} builds event software "
            "for B2B teams.'><script src='https://js.hs-scripts.com/1.js'></script></head><body><nav>Home</nav>"
            f"<h1>{name}</h1><p>We help teams run events. Trusted by 500 companies.</p></body></html>"
        )

    async def calls(request: Request) -> Response:
        with state.lock:
            return JSONResponse([[route, key, n] for (route, key), n in state.calls.items()])

    return Starlette(
        routes=[
            Route("/_fake/calls", calls),
            Route("/v2/validate", validate),
            Route("/v2/validatebatch", validate_batch, methods=["POST"]),
            Route("/v2/email-finder", email_finder),
            Route("/v5/person/enrich", person),
            Route("/v5/person/bulk", person_bulk, methods=["POST"]),
            Route("/v5/company/enrich", company),
            Route("/{path:path}", homepage),
        ]
    )


@contextlib.contextmanager
def serve_providers(state: ProviderState | None = None) -> Iterator[tuple[str, ProviderState]]:
    """Run the fake on a loopback port in its own thread (own event loop): yields (base URL, state)."""
    state = state or ProviderState()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(build_provider_app(state), log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the fake provider server did not start")
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _serve_forever(sock: socket.socket, latency: float) -> None:
    config = uvicorn.Config(build_provider_app(ProviderState(latency=latency)), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


@contextlib.contextmanager
def serve_providers_process(latency: float = 0.0) -> Iterator[str]:
    """The fake in a separate process (benchmarks: its CPU must not be counted as the service's); yields the base
    URL. Read the calls from `GET /_fake/calls` ([[route, key, count], ...])."""
    import multiprocessing

    import httpx

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    process = multiprocessing.get_context("fork").Process(target=_serve_forever, args=(sock, latency), daemon=True)
    process.start()
    try:
        for _ in range(500):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_fake/calls", timeout=1).status_code == 200:
                    break
            threading.Event().wait(0.02)
        yield url
    finally:
        process.terminate()
        process.join(timeout=10)
        sock.close()
