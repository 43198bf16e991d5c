"""Benchmark: client CPU per call for the ways syncer could send its uploads.

The fake Intercom runs in a process of its own (its spec checks cost it, not us) and
answers each call after ``--latency``; each option sends the same ``--calls`` upserts
of a 3 KB page with ``--in-flight`` calls outstanding, in a child process of its own,
which reports its CPU seconds (user + system) per 1,000 calls and its calls per second.
The reference is the standard library: ``http.client``, one keep-alive connection per
thread, nothing else.

    .venv/bin/python bench/transport_options.py [--calls 3000] [--in-flight 64] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token"  # noqa: S105  # the fake accepts any token it is given
HEADERS = {
    "Authorization": f"Bearer {TOKEN}",
    "Intercom-Version": "Preview",
    "Accept": "application/json",
    "Content-Type": "application/json",
}


def body(n: int, source_id: str) -> bytes:
    return json.dumps(
        {
            "title": f"Document {n}",
            "html": "<p>" + "Some words about the topic. " * 100 + "</p>",
            "url": f"https://docs.example.com/doc-{n}",
            "source_id": int(source_id),
            "external_id": f"doc-{n}",
            "ai_agent_availability": True,
            "ai_copilot_availability": True,
            "ai_sales_agent_availability": False,
            "locale": "en",
        }
    ).encode()


def threaded(send: Callable[[int], None], calls: int, in_flight: int) -> None:
    with ThreadPoolExecutor(in_flight) as pool:
        list(pool.map(send, range(calls)))


def stdlib(url: str, source: str, calls: int, in_flight: int) -> None:
    import http.client

    parts = urlsplit(url)
    local = threading.local()

    def send(n: int) -> None:
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        local.conn.request("POST", "/ai/external_pages", body(n, source), HEADERS)
        reply = local.conn.getresponse()
        json.loads(reply.read())
        assert reply.status == 200, reply.status

    threaded(send, calls, in_flight)


def httpx_threads(url: str, source: str, calls: int, in_flight: int) -> None:
    import httpx

    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    with httpx.Client(base_url=url, headers=HEADERS, limits=limits) as client:

        def send(n: int) -> None:
            reply = client.post("/ai/external_pages", content=body(n, source))
            assert reply.status_code == 200, reply.status_code
            reply.json()

        threaded(send, calls, in_flight)


def httpx_async(url: str, source: str, calls: int, in_flight: int) -> None:
    import asyncio

    import httpx

    async def run() -> None:
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits) as client:
            gate = asyncio.Semaphore(in_flight)

            async def send(n: int) -> None:
                async with gate:
                    reply = await client.post("/ai/external_pages", content=body(n, source))
                assert reply.status_code == 200, reply.status_code
                reply.json()

            await asyncio.gather(*(send(n) for n in range(calls)))

    asyncio.run(run())


def urllib3_threads(url: str, source: str, calls: int, in_flight: int) -> None:
    import urllib3

    pool = urllib3.HTTPConnectionPool(
        urlsplit(url).hostname, urlsplit(url).port, maxsize=in_flight, block=True
    )

    def send(n: int) -> None:
        reply = pool.request("POST", "/ai/external_pages", body=body(n, source), headers=HEADERS)
        assert reply.status == 200, reply.status
        json.loads(reply.data)

    threaded(send, calls, in_flight)


def urllib3_transport(in_flight: int) -> Any:
    import httpx
    import urllib3

    class Urllib3Transport(httpx.BaseTransport):
        def __init__(self) -> None:
            self.pool = urllib3.PoolManager(maxsize=in_flight, block=True, retries=False)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            reply = self.pool.urlopen(
                request.method,
                str(request.url),
                body=request.read(),
                headers=dict(request.headers),
                redirect=False,
                preload_content=True,
            )
            return httpx.Response(
                reply.status, headers=list(reply.headers.items()), content=reply.data
            )

    return Urllib3Transport()


def httpx_request_over_urllib3(url: str, source: str, calls: int, in_flight: int) -> None:
    import httpx

    transport = urllib3_transport(in_flight)

    def send(n: int) -> None:
        request = httpx.Request(
            "POST", f"{url}/ai/external_pages", headers=HEADERS, content=body(n, source)
        )
        reply = transport.handle_request(request)
        assert reply.status_code == 200, reply.status_code
        reply.json()

    threaded(send, calls, in_flight)


def httpx_over_urllib3(url: str, source: str, calls: int, in_flight: int) -> None:
    import httpx

    transport = urllib3_transport(in_flight)
    with httpx.Client(base_url=url, headers=HEADERS, transport=transport) as client:

        def send(n: int) -> None:
            reply = client.post("/ai/external_pages", content=body(n, source))
            assert reply.status_code == 200, reply.status_code
            reply.json()

        threaded(send, calls, in_flight)


def pycurl_threads(url: str, source: str, calls: int, in_flight: int) -> None:
    """libcurl's easy interface: one handle (and its kept-alive connection) a thread;
    libcurl writes the request and parses the reply in C, without the GIL."""
    import io

    import pycurl

    local = threading.local()
    target = f"{url}/ai/external_pages"
    headers = [f"{name}: {value}" for name, value in HEADERS.items()]

    def send(n: int) -> None:
        if not hasattr(local, "curl"):
            local.curl = pycurl.Curl()
        curl, reply = local.curl, io.BytesIO()
        curl.setopt(pycurl.URL, target)
        curl.setopt(pycurl.POSTFIELDS, body(n, source))
        curl.setopt(pycurl.HTTPHEADER, headers)
        curl.setopt(pycurl.WRITEDATA, reply)
        curl.perform()
        status = curl.getinfo(pycurl.RESPONSE_CODE)
        assert status == 200, status
        json.loads(reply.getvalue())

    threaded(send, calls, in_flight)


def pycurl_multi(url: str, source: str, calls: int, in_flight: int) -> None:
    """libcurl's multi interface: every transfer driven by one thread, no thread a call."""
    import io

    import pycurl

    target = f"{url}/ai/external_pages"
    headers = [f"{name}: {value}" for name, value in HEADERS.items()]
    multi = pycurl.CurlMulti()
    idle = [pycurl.Curl() for _ in range(in_flight)]
    replies: dict[Any, io.BytesIO] = {}
    todo = iter(range(calls))
    left = calls
    while left:
        while idle and len(replies) < left:
            curl = idle.pop()
            replies[curl] = io.BytesIO()
            curl.setopt(pycurl.URL, target)
            curl.setopt(pycurl.POSTFIELDS, body(next(todo), source))
            curl.setopt(pycurl.HTTPHEADER, headers)
            curl.setopt(pycurl.WRITEDATA, replies[curl])
            multi.add_handle(curl)
        multi.select(1.0)
        while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        queued = 1
        while queued:
            queued, done, failed = multi.info_read()
            assert not failed, failed
            for curl in done:
                multi.remove_handle(curl)
                status = curl.getinfo(pycurl.RESPONSE_CODE)
                assert status == 200, status
                json.loads(replies.pop(curl).getvalue())
                idle.append(curl)
                left -= 1


def aiohttp_loop(url: str, source: str, calls: int, in_flight: int) -> None:
    """aiohttp on one asyncio event loop (its reply parser is C): no thread a call."""
    import asyncio

    import aiohttp

    async def run() -> None:
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(url, headers=HEADERS, connector=connector) as session:
            gate = asyncio.Semaphore(in_flight)

            async def send(n: int) -> None:
                async with gate, session.post("/ai/external_pages", data=body(n, source)) as reply:
                    assert reply.status == 200, reply.status
                    json.loads(await reply.read())

            await asyncio.gather(*(send(n) for n in range(calls)))

    asyncio.run(run())


def syncer_publisher(url: str, source: str, calls: int, in_flight: int) -> None:
    """What a sync does per upload: syncer's publisher, client, pacing and wire."""
    from pydantic import SecretStr

    from syncer.config.settings import IntercomSettings
    from syncer.intercom.client import IntercomClient
    from syncer.intercom.publisher import IntercomPublisher
    from syncer.model import Page

    settings = IntercomSettings(
        token=SecretStr(TOKEN), base_url=url, api_version="Preview", concurrency=in_flight
    )
    publisher = IntercomPublisher(IntercomClient.from_settings(settings), concurrency=in_flight)

    def send(n: int) -> None:
        page = Page(
            external_id=f"doc-{n}",
            title=f"Document {n}",
            html="<p>" + "Some words about the topic. " * 100 + "</p>",
            url=f"https://docs.example.com/doc-{n}",
            locale="en",
            ai_agent_availability=True,
            ai_copilot_availability=True,
            ai_sales_agent_availability=False,
        )
        assert publisher.upsert(source, page)

    threaded(send, calls, in_flight)


OPTIONS: dict[str, Callable[[str, str, int, int], None]] = {
    "stdlib http.client, threads (reference)": stdlib,
    "httpx.Client, threads": httpx_threads,
    "httpx.AsyncClient, one event loop": httpx_async,
    "urllib3 pool, threads": urllib3_threads,
    "httpx.Client over a urllib3 transport, threads": httpx_over_urllib3,
    "httpx.Request to a urllib3 transport, threads": httpx_request_over_urllib3,
    "pycurl (libcurl easy), a handle a thread": pycurl_threads,
    "pycurl (libcurl multi), one thread": pycurl_multi,
    "aiohttp, one event loop": aiohttp_loop,
    "syncer's publisher (client, pacing, wire)": syncer_publisher,
}


def child(name: str, url: str, source: str, calls: int, in_flight: int) -> None:
    option = OPTIONS[name]
    option(url, source, min(calls, in_flight), in_flight)  # warm: imports, connections
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    option(url, source, calls, in_flight)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"cpu": cpu, "wall": wall}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, url, source, calls, in_flight = args.child
        child(name, url, source, int(calls), int(in_flight))
        return
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.intercom",
            "--port",
            "0",
            "--token",
            TOKEN,
            "--rate-limit",
            "1000000",
            "--latency",
            str(args.latency),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        url = fake.stdout.readline().strip()
        import httpx

        made = httpx.post(
            f"{url}/ai/content_import_sources",
            headers=HEADERS,
            json={"sync_behavior": "api", "url": "https://docs.example.com/"},
        )
        source = str(made.json()["id"])  # sent as an integer, as the spec says
        print(
            f"{args.calls} upserts, {args.in_flight} in flight, replies after "
            f"{args.latency * 1000:.0f} ms; client CPU per 1,000 calls:"
        )
        for name in OPTIONS:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    url,
                    source,
                    str(args.calls),
                    str(args.in_flight),
                ],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            if done.returncode != 0:
                print(f"  {name:<48} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"  {name:<48} {1000 * figures['cpu'] / args.calls:6.2f} s CPU/1k calls, "
                f"{args.calls / figures['wall']:7.1f} calls/s"
            )
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
