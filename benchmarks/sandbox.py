"""The sandbox's throughput and list latency, against a bare Flask baseline on the same server.

Both servers run in their own process (so clients and server do not share a GIL), on werkzeug's
threaded server started by ``reconciler.sandbox.server.start`` on 127.0.0.1:0:
- the sandbox, with a fresh database in a temporary directory;
- the baseline: a Flask app whose one route answers ``{"hello": "world"}``.

Figures: requests per second for GET list (10 policies) and PATCH with 1 and 8 client threads,
each as a ratio to the baseline with the same number of threads; then the latency (median, p95)
of GET list with 1,000 policies; then the same list in process (Flask's test client, no
socket), and the part of it that fills the defaults of the 1,000 objects.

    python benchmarks/sandbox.py [--seconds S] [--samples N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

POLICY = {
    "name": "bench",
    "tags": [{"key": "env", "valueType": "LIST", "allowedValues": ["a", "b"]}],
}


# the server side: run in a child process


def _serve(kind: str, db: Path) -> None:
    from flask import Flask

    from reconciler.sandbox.app import create_app
    from reconciler.sandbox.server import start
    from reconciler.sandbox.store import Store

    if kind == "hello":
        app = Flask("hello")
        app.add_url_rule("/hello", "hello", lambda: {"hello": "world"})
        server = start(app)
        print(json.dumps({"url": server.url}), flush=True)
    else:
        store = Store(db)
        server = start(create_app(store))
        tokens = {org: store.create_token(org) for org in ("small", "large")}
        print(json.dumps({"url": server.url, "tokens": tokens}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


@contextmanager
def _server(kind: str, db: Path) -> Iterator[dict[str, object]]:
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        yield json.loads(process.stdout.readline())
    finally:
        process.stdin.close()
        process.wait(timeout=10)


# the client side


def _session(token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


def _rate(make_call: Callable[[int], Callable[[], None]], threads: int, seconds: float) -> float:
    """Requests per second: ``threads`` clients calling as fast as they can for ``seconds``."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds
    barrier = threading.Barrier(threads + 1)

    def client(n: int) -> None:
        call = make_call(n)
        barrier.wait()
        while time.perf_counter() < deadline:
            call()
            counts[n] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - start)


def _checked(response: requests.Response) -> None:
    if not response.ok:
        raise SystemExit(f"benchmark request failed: {response.status_code} {response.text[:200]}")


def _in_process(db: Path, samples: int) -> tuple[float, float]:
    """Median seconds of GET list of 1,000 policies through Flask's test client, and of filling
    the defaults of those objects."""
    from reconciler.sandbox.app import create_app
    from reconciler.sandbox.resources import KINDS
    from reconciler.sandbox.store import Store

    store = Store(db)
    client = create_app(store).test_client()
    headers = {"Authorization": f"Bearer {store.create_token('large')}"}
    url = "/v1/orgs/large/tagging-policies"
    for i in range(1000):
        body = {"data": {"attributes": {**POLICY, "name": f"p{i}"}}}
        assert client.post(url, json=body, headers=headers).status_code == 201
    listing = []
    for _ in range(samples):
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        listing.append(time.perf_counter() - start)
        assert response.status_code == 200
    kind = KINDS["tagging-policies"]
    defaults = []
    for _ in range(samples):
        objects = store.list_objects("large", kind.type)
        start = time.perf_counter()
        for obj in objects:
            kind.with_defaults(obj.attributes)
        defaults.append(time.perf_counter() - start)
    store.close()
    return statistics.median(listing), statistics.median(defaults)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput figure")
    parser.add_argument("--samples", type=int, default=100, help="list requests for the latency")
    parser.add_argument("--serve", choices=["sandbox", "hello"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.db)
        return 0

    with tempfile.TemporaryDirectory() as tmp, _server("sandbox", Path(tmp) / "bench.db") as info:
        url, tokens = str(info["url"]), info["tokens"]
        assert isinstance(tokens, dict)
        small = f"{url}/v1/orgs/small/tagging-policies"
        large = f"{url}/v1/orgs/large/tagging-policies"
        with _session(tokens["small"]) as session:
            ids = []
            for i in range(10):
                body = {"data": {"attributes": {**POLICY, "name": f"p{i}"}}}
                response = session.post(small, json=body, timeout=10)
                _checked(response)
                ids.append(response.json()["data"]["id"])

        def list_call(_: int) -> Callable[[], None]:
            session = _session(tokens["small"])
            return lambda: _checked(session.get(small, timeout=10))

        def patch_call(n: int) -> Callable[[], None]:
            session = _session(tokens["small"])
            counter = itertools.count()
            target = f"{small}/{ids[n % len(ids)]}"

            def call() -> None:
                body = {"data": {"attributes": {"message": f"m{next(counter)}"}}}
                _checked(session.patch(target, json=body, timeout=10))

            return call

        figures = {}
        for threads in (1, 8):
            figures[("GET list", threads)] = _rate(list_call, threads, args.seconds)
            figures[("PATCH", threads)] = _rate(patch_call, threads, args.seconds)

        with _session(tokens["large"]) as session:
            for i in range(1000):
                body = {"data": {"attributes": {**POLICY, "name": f"p{i}"}}}
                _checked(session.post(large, json=body, timeout=10))
            latencies = []
            for _ in range(args.samples):
                start = time.perf_counter()
                response = session.get(large, timeout=30)
                latencies.append(time.perf_counter() - start)
                _checked(response)
            assert len(response.json()["data"]) == 1000
            list_size = len(response.content)

    with tempfile.TemporaryDirectory() as tmp, _server("hello", Path(tmp) / "unused") as info:
        hello = f"{info['url']}/hello"

        def hello_call(_: int) -> Callable[[], None]:
            session = _session()
            return lambda: _checked(session.get(hello, timeout=10))

        baseline = {threads: _rate(hello_call, threads, args.seconds) for threads in (1, 8)}

    with tempfile.TemporaryDirectory() as tmp:
        in_process, defaults = _in_process(Path(tmp) / "in-process.db", args.samples)

    print(f"sandbox benchmark ({os.cpu_count()} CPUs, {args.seconds:g} s per figure)")
    print(f"{'request':<10} {'threads':>7} {'req/s':>8} {'baseline req/s':>15} {'ratio':>6}")
    for (name, threads), rate in figures.items():
        base = baseline[threads]
        print(f"{name:<10} {threads:>7} {rate:>8.0f} {base:>15.0f} {rate / base:>6.2f}")
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)]
    print(
        f"GET list of 1,000 policies ({list_size / 1024:.0f} KiB, {args.samples} requests): "
        f"median {statistics.median(latencies) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )
    print(
        f"GET list of 1,000 policies in process: median {in_process * 1000:.1f} ms, of which "
        f"filling the defaults {defaults * 1000:.1f} ms ({defaults / in_process:.0%})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
