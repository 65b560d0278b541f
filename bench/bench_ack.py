"""Benchmark: how fast Slack gets its ack, for our service and for a bare Bolt app served the same way (the floor).

    python -m bench.bench_ack [--requests 1000] [--concurrency 50] [--warmup 200] [--rate 100] [--burst-gap 0.25]

Our service is ``deferredrev serve`` in a process of its own (``bench/_stack.py``: against the sandbox Intuit and
Slack, SQLite in a temp dir, QuickBooks connected through the sandbox to the 2,000-account company, the mappings
modal open so its chart is cached). The floor (``bench/_floor_app.py``) is Bolt with listeners that only ``ack()``
(options: 100 fixed options), run the way Bolt runs them by default, behind the same Flask adapter, waitress
settings and listener pool size. Both get ``deferredrev.server.HTTP_THREADS`` waitress threads.

Each kind of request is sent by a separate load process (so the clients don't share a GIL with the servers):
``--concurrency`` threads, each with its own keep-alive connection, send pre-built, signed and unique requests
(fresh trigger_id and response_url each, as Slack would). Kinds:

* slash    ``/deferredrev status``: reads the database and answers in the ack itself (no second request to Slack)
* button   ``disconnect_cancel``: acks, then answers through response_url (replace_original)
* link     ``qbo_connect_link``: a URL button, only acked; our fixed per-request overhead over the floor
* options  ``deferred_revenue_select`` type-ahead: the ack *is* the answer (filtered from the cached chart of
  2,000+ accounts; the workspace's company is re-read every few seconds); the floor acks 100 fixed options

Loads (:class:`Load`): *saturated*, each client sends again as soon as it has its answer, so 50 requests are
always in flight and latency is about clients / throughput (a capacity comparison; 3x ``--requests``, so it lasts
longer than the 1 s our answers may wait for acks and shows steady state); *burst*, the 50 clients send
at the same instant every ``--burst-gap`` seconds (50 signed requests at once, then quiet, as when a channel acts
on the same message); *paced*, requests due at ``--rate`` per second. Floor and ours alternate kind by kind. After
each of our phases the bench waits until every response_url answer has reached the sandbox ("drain": seconds
after the last ack), so one phase's background work doesn't leak into the next. ``cpu`` is the server process's
CPU time (all threads, follow-ups included) per request over the phase, read from /proc.

The button answered through response_url makes two HTTP requests per click where the floor makes one, so it is also
measured against a second bare Bolt app whose same button acks and then answers the same way (Bolt's ``respond``
in the listener, on Bolt's pool): what that answer costs any Bolt app on this machine.
Target: our p99 within 1.5x of the floor and far under Slack's 3 s.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bench._stack import (
    ADMIN,
    CHANNEL,
    SIGNING_SECRET,
    CapturingDriver,
    Stack,
    payload_body,
    percentile,
    running_floor,
    running_stack,
    slack_sandbox,
)
from deferredrev.bot import ids
from deferredrev.sandbox.intuit.seed import BIG_REALM
from deferredrev.sandbox.slack import SlackSandbox
from deferredrev.server import HTTP_THREADS

Result = dict[str, Any]
KINDS = ("slash", "button", "link", "options")
LABELS = {
    "slash": "slash /deferredrev status",
    "button": "button disconnect_cancel",
    "link": "button qbo_connect_link",
    "options": "options deferred_revenue_select",
}
TYPED = ("", "d", "de", "def", "defe", "defer", "deferred", "deferred r", "emea", "acc", "unearned", "cust")
ANSWERED_LATER = ("button",)  # kinds whose listener answers through response_url after the ack
TARGET_RATIO = 1.5
SLACK_ACK_LIMIT_S = 3.0
FAR_UNDER_SLACK_MS = 300.0  # a tenth of Slack's limit
DEFAULT_RATE = 100.0  # requests/s for the paced load
BURST_GAP_S = 0.25  # between bursts of ``concurrency`` requests sent at once
DRAIN_PAUSE_S = 1.0  # between warm-up and measurement, for the warm-up's answers through response_url
ANSWERING_FLOOR = "floor_answering"  # the floor whose disconnect_cancel also answers through response_url


@dataclass(frozen=True)
class Load:
    """How the measured requests are sent. ``saturated``: each client sends again as soon as it has its answer
    (closed loop). ``burst``: all clients send at the same instant, every ``gap`` seconds. ``paced``: requests are
    due at ``rate`` per second. Burst and paced requests are timed from when they were due."""

    name: str
    rate: float | None = None
    gap: float | None = None
    scale: int = 1  # measured requests: ``scale`` x --requests

    @property
    def label(self) -> str:
        if self.rate:
            return f"paced {self.rate:.0f}/s"
        return f"burst every {self.gap:.2f}s" if self.gap else self.name

    def due(self, started: float, index: int, concurrency: int) -> float | None:
        """When request ``index`` is due (None: now, closed loop)."""
        if self.rate:
            return started + index / self.rate
        if self.gap:
            return started + (index // concurrency) * self.gap
        return None


# Saturated runs 3x longer: past the 1 s a follow-up may wait for acks (deferredrev/bot/ack_first.py), so a
# kind answered through response_url shows acks and answers competing in steady state, not only acks first.
SATURATED = Load("saturated", scale=3)


@dataclass
class Fixtures:
    """What the requests refer to: the mappings modal, the disconnect prompt, the connect prompt."""

    view_id: str
    disconnect_ts: str
    connect_ts: str


def prepare(stack: Stack) -> Fixtures:
    # The connect prompt (with its URL button) stays in the channel after connecting.
    stack.connect(realm=BIG_REALM)
    connect_ts = _ephemeral_with(stack.slack, ids.CONNECT_LINK)
    stack.command("mappings")  # opens the modal and loads the chart into the cache
    view = stack.slack.wait_for_view(ADMIN, callback_id=ids.MAPPINGS_VIEW)
    stack.command("disconnect")
    stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Disconnect")
    offered = stack.driver.suggest(ADMIN, str(view["id"]), ids.DEFERRED_SELECT, "")
    if len(offered) != 100:
        raise RuntimeError(f"expected 100 options from the 2,000-account chart, got {len(offered)}")
    return Fixtures(
        view_id=str(view["id"]), disconnect_ts=_ephemeral_with(stack.slack, ids.DISCONNECT_CANCEL), connect_ts=connect_ts
    )


def _ephemeral_with(slack: SlackSandbox, action_id: str) -> str:
    for message in reversed(slack.ephemerals(CHANNEL, ADMIN)):
        if any(e.get("action_id") == action_id for b in message.blocks or [] for e in b.get("elements", [])):
            return message.ts
    raise RuntimeError(f"no message with {action_id} for {ADMIN} in {CHANNEL}")


def build_bodies(slack: SlackSandbox, fixtures: Fixtures, kind: str, count: int) -> list[str]:
    """``count`` distinct request bodies of one kind, each with its own trigger_id and response_url."""
    driver = CapturingDriver(slack)
    try:
        for number in range(count):
            if kind == "slash":
                driver.captured.append(driver.slash_body(ADMIN, CHANNEL, "status"))
            elif kind == "button":
                driver.click(ADMIN, action_id=ids.DISCONNECT_CANCEL, channel=CHANNEL, message_ts=fixtures.disconnect_ts)
            elif kind == "link":
                driver.click(ADMIN, action_id=ids.CONNECT_LINK, channel=CHANNEL, message_ts=fixtures.connect_ts)
            else:
                driver.suggest(ADMIN, fixtures.view_id, ids.DEFERRED_SELECT, TYPED[number % len(TYPED)])
                payload = json.loads(unquote(driver.captured[-1].removeprefix("payload=")))
                payload["view"]["hash"] = f"{time.time():.6f}.{number}"  # Slack's view hash changes; bodies must differ
                driver.captured[-1] = payload_body(payload)
        bodies = list(driver.captured)
    finally:
        driver.close()
    if len(set(bodies)) != len(bodies):
        raise RuntimeError(f"{kind}: request bodies are not unique; the replay guard would refuse repeats")
    return bodies


def response_url_of(body: str) -> str | None:
    fields = dict(parse_qsl(body))
    if "response_url" in fields:
        return fields["response_url"]
    url = json.loads(fields.get("payload", "{}")).get("response_url")
    return str(url) if url else None


def wait_for_answers(slack: SlackSandbox, bodies: list[str], timeout: float = 120.0) -> float:
    """Seconds until every request's response_url has been posted to (0 when the kind answers in the ack)."""
    started = time.monotonic()
    pending = {url.split("/response/", 1)[1] for body in bodies if (url := response_url_of(body))}
    while pending:
        with slack.lock:
            pending = {url_id for url_id in pending if not slack.response_urls[url_id].posts}
        if not pending:
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{len(pending)} response_url answers never arrived")
        time.sleep(0.02)
    return time.monotonic() - started


# ---- the load process -----------------------------------------------------------------------------------------------


def load(url: str, warmup: list[str], bodies: list[str], concurrency: int, secret: str, how: Load = SATURATED) -> Result:
    """Send ``warmup`` then, after a pause for the server's background work to drain, ``bodies`` (all signed now),
    from ``concurrency`` threads with a keep-alive connection each (kept from warm-up to measurement); time each
    measured request as ``how`` says (see :class:`Load`): from when it was sent in a closed loop, else from when it
    was due, so waiting for a free client counts too. The warm-up is always closed loop.
    """
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(secret)
    timestamp = str(int(time.time()))

    def signed(body: str) -> tuple[bytes, dict[str, str]]:
        signature = verifier.generate_signature(timestamp=timestamp, body=body) or ""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        return body.encode(), headers

    phases = [[signed(body) for body in warmup], [signed(body) for body in bodies]]
    schedules = [SATURATED, how]
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    latencies = [0.0] * len(bodies)
    statuses = [0] * len(bodies)
    sizes = [0] * len(bodies)
    counters = [itertools.count(), itertools.count()]
    gate = threading.Barrier(concurrency + 1)
    started = [0.0, 0.0]

    def client() -> None:
        connection = http.client.HTTPConnection(host, parts.port, timeout=30)
        try:
            for phase, requests in enumerate(phases):
                gate.wait()
                schedule = schedules[phase]
                while (index := next(counters[phase])) < len(requests):
                    body, headers = requests[index]
                    due = schedule.due(started[phase], index, concurrency)
                    if due is None:
                        due = time.perf_counter()
                    elif (pause := due - time.perf_counter()) > 0:
                        time.sleep(pause)
                    try:
                        connection.request("POST", parts.path, body=body, headers=headers)
                        response = connection.getresponse()
                        size, status = len(response.read()), response.status
                    except (OSError, http.client.HTTPException):
                        connection.close()
                        connection = http.client.HTTPConnection(host, parts.port, timeout=30)
                        size, status = 0, -1
                    if phase == 1:
                        latencies[index], statuses[index], sizes[index] = time.perf_counter() - due, status, size
                gate.wait()
        finally:
            connection.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for phase in range(len(phases)):
        if phase == 1 and warmup:
            time.sleep(DRAIN_PAUSE_S)
        started[phase] = time.perf_counter()
        gate.wait()
        gate.wait()
    wall = time.perf_counter() - started[1]
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "statuses": statuses, "sizes": sizes, "wall": wall}


def run_load(url: str, warmup: list[str], bodies: list[str], concurrency: int, how: Load) -> Result:
    """The warm-up, then the measured requests, from one fresh load process."""
    schedule = {"name": how.name, "rate": how.rate, "gap": how.gap}
    job = json.dumps({"url": url, "warmup": warmup, "bodies": bodies, "concurrency": concurrency, "load": schedule})
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_ack", "--load"], input=job, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load process failed:\n{completed.stderr[-2000:]}")
    result: Result = json.loads(completed.stdout)
    return result


def measure(url: str, warmup: list[str], bodies: list[str], concurrency: int, how: Load = SATURATED) -> Result:
    sent = run_load(url, warmup, bodies, concurrency, how)
    latencies = sent["latencies"]
    return {
        "requests": len(bodies),
        "failures": sum(1 for status in sent["statuses"] if status != 200),
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "rps": len(bodies) / sent["wall"],
        "bytes": sum(sent["sizes"]) / len(bodies),
    }


# ---- the benchmark --------------------------------------------------------------------------------------------------


def run(
    requests: int = 1000,
    concurrency: int = 50,
    warmup: int = 200,
    rate: float | None = DEFAULT_RATE,
    kinds: tuple[str, ...] = KINDS,
    burst_gap: float | None = BURST_GAP_S,
) -> list[Result]:
    """One row per kind and load (saturated; bursts every ``burst_gap`` s and paced at ``rate``/s unless None):
    ours, the floor, the ratios; for a kind answered through response_url, also the floor answering the same way."""
    loads = [SATURATED]
    loads += [Load("burst", gap=burst_gap)] if burst_gap else []
    loads += [Load("paced", rate=rate)] if rate else []
    results = []
    slack, _ = slack_sandbox()
    try:
        with contextlib.ExitStack() as running:
            tmp = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="bench-ack-")))
            stack = running.enter_context(running_stack(tmp, slack))
            fixtures = prepare(stack)
            servers = {
                "ours": stack.server,
                "floor": running.enter_context(running_floor(tmp, slack)),
            }
            if any(kind in ANSWERED_LATER for kind in kinds):
                servers[ANSWERING_FLOOR] = running.enter_context(running_floor(tmp, slack, answer=True))
            # Built up front: the sandbox's message lists grow with every answer, which would slow building later.
            sizes = [requests * how.scale for how in loads]
            count = warmup + sum(sizes)
            bodies = {
                (server, kind): build_bodies(slack, fixtures, kind, count) for kind in kinds for server in servers_for(kind)
            }
            for kind in kinds:
                for number, how in enumerate(loads):
                    row: Result = {
                        "kind": kind,
                        "label": LABELS[kind],
                        "load": how.name,
                        "load_label": how.label,
                        "concurrency": concurrency,
                        "threads": HTTP_THREADS,
                    }
                    done = warmup + sum(sizes[: number + 1])
                    for name in servers_for(kind):
                        sent = bodies[(name, kind)]
                        warm = sent[:warmup] if number == 0 else []  # warm-up only before the first load
                        measured = sent[done - sizes[number] : done]
                        cpu_before = servers[name].cpu_seconds()
                        row[name] = measure(servers[name].events_url, warm, measured, concurrency, how)
                        answered = kind in ANSWERED_LATER and name != "floor"
                        row[name]["drain_s"] = wait_for_answers(slack, sent[:done]) if answered else 0.0
                        used = servers[name].cpu_seconds() - cpu_before
                        row[name]["cpu_ms"] = used * 1000 / (len(warm) + len(measured))
                    row["ratio_p99"] = row["ours"]["p99_ms"] / row["floor"]["p99_ms"]
                    row["ratio_p50"] = row["ours"]["p50_ms"] / row["floor"]["p50_ms"]
                    if ANSWERING_FLOOR in row:
                        row["ratio_answering_p99"] = row["ours"]["p99_ms"] / row[ANSWERING_FLOOR]["p99_ms"]
                    results.append(row)
    finally:
        slack.stop()
    return results


def servers_for(kind: str) -> tuple[str, ...]:
    """Measured in this order for each kind and load."""
    return ("floor", ANSWERING_FLOOR, "ours") if kind in ANSWERED_LATER else ("floor", "ours")


def print_table(results: list[Result]) -> None:
    if not results:
        return
    first = results[0]
    print(
        f"ack latency (ms, from send, or from when due when paced, to the full response): {first['ours']['requests']} "
        f"signed requests per kind and server when saturated, {results[-1]['ours']['requests']} for the other loads, "
        f"{first['concurrency']} concurrent keep-alive clients;"
    )
    print(f"each server in its own process with waitress threads={first['threads']}")
    print(
        f"{'kind':<32} {'load':<18} {'ours p50':>8} {'ours p99':>8} {'floor p50':>9} {'floor p99':>9} {'ratio p99':>9} "
        f"{'ours rps':>8} {'floor rps':>9} {'ours max':>8} {'fail':>4} {'drain s':>7} {'ours cpu':>8} {'floor cpu':>9}"
    )
    for r in results:
        ours, floor = r["ours"], r["floor"]
        failures = sum(r[name]["failures"] for name in servers_for(r["kind"]))
        print(
            f"{r['label']:<32} {r['load_label']:<18} {ours['p50_ms']:>8.1f} {ours['p99_ms']:>8.1f} {floor['p50_ms']:>9.1f} "
            f"{floor['p99_ms']:>9.1f} {r['ratio_p99']:>8.2f}x {ours['rps']:>8.0f} {floor['rps']:>9.0f} "
            f"{ours['max_ms']:>8.1f} {failures:>4} {ours['drain_s']:>7.2f} {ours['cpu_ms']:>8.2f} {floor['cpu_ms']:>9.2f}"
        )
    for load_name in dict.fromkeys(r["load"] for r in results):
        rows = [r for r in results if r["load"] == load_name]
        worst = max(rows, key=lambda r: r["ratio_p99"])
        slowest = max(r["ours"]["p99_ms"] for r in rows)
        met = worst["ratio_p99"] <= TARGET_RATIO and slowest < FAR_UNDER_SLACK_MS
        print(
            f"target ({load_name}): ours p99 <= {TARGET_RATIO}x floor p99 and < {FAR_UNDER_SLACK_MS:.0f} ms "
            f"(a tenth of Slack's {SLACK_ACK_LIMIT_S:.0f} s): {'met' if met else 'MISSED'} "
            f"(worst {worst['ratio_p99']:.2f}x on {worst['kind']}, slowest ours p99 {slowest:.0f} ms)"
        )
    print("saturated = each client sends again as soon as answered: latency ~ clients / throughput, so this row")
    print("  compares capacity (rps) more than speed; burst = all clients send at the same instant, i.e. 50")
    print("  signed requests at once, every few hundred ms; paced = requests due at a fixed rate; burst and paced")
    print("  requests are timed from when they were due; drain = s after the last ack until every response_url")
    print("  answer had reached the sandbox Slack; cpu = ms of the server process's CPU per request (all threads,")
    print("  follow-ups included)")
    answering = [r for r in results if ANSWERING_FLOOR in r]
    if answering:
        print_answering_table(answering)


def print_answering_table(rows: list[Result]) -> None:
    """The same button against a bare Bolt app that also answers it through response_url (ack, then respond, in
    one listener on Bolt's pool): what the second request per click costs any Bolt app."""
    print()
    print("a button answered through response_url, against a bare Bolt app that acks it and then answers it the same way")
    print(
        f"{'kind':<32} {'load':<18} {'ours p50':>8} {'ours p99':>8} {'bolt p50':>8} {'bolt p99':>8} {'ratio p99':>9} "
        f"{'ours rps':>8} {'bolt rps':>8} {'drain s':>7} {'bolt drain':>10} {'ours cpu':>8} {'bolt cpu':>8}"
    )
    for r in rows:
        ours, bolt = r["ours"], r[ANSWERING_FLOOR]
        print(
            f"{r['label']:<32} {r['load_label']:<18} {ours['p50_ms']:>8.1f} {ours['p99_ms']:>8.1f} {bolt['p50_ms']:>8.1f} "
            f"{bolt['p99_ms']:>8.1f} {r['ratio_answering_p99']:>8.2f}x {ours['rps']:>8.0f} {bolt['rps']:>8.0f} "
            f"{ours['drain_s']:>7.2f} {bolt['drain_s']:>10.2f} {ours['cpu_ms']:>8.2f} {bolt['cpu_ms']:>8.2f}"
        )


def quiet_waitress() -> None:
    """Waitress warns "Task queue depth is N" whenever requests wait for a thread: expected at 50 clients, 16 threads."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="measured per kind, load, server (3x saturated)")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per kind and server first")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="paced load in requests/s (0: none)")
    parser.add_argument("--burst-gap", type=float, default=BURST_GAP_S, help="s between bursts (0: no bursts)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated subset of {','.join(KINDS)}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load:
        job = json.load(sys.stdin)
        how = Load(**job["load"])
        result = load(job["url"], job["warmup"], job["bodies"], job["concurrency"], SIGNING_SECRET, how)
        json.dump(result, sys.stdout)
        return
    kinds = tuple(args.kinds.split(","))
    results = run(args.requests, args.concurrency, args.warmup, args.rate or None, kinds, args.burst_gap or None)
    print_table(results)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
