"""Drills of what goes out (orders and RMAs through the outbox) and of the stack's own processes:
an upstream outage, answers dropped after commit, rate limits, killed workers, a restarted
Redis and a restarted PostgreSQL."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

from . import Outcome, Report, drill
from .harness import Ledger, Stack, reference, run_tag, settle, submit_orders, submit_rmas, wait_delivered, wait_until


def keys_of(ledger: Ledger) -> set[str]:
    """The idempotency keys of the ledger's deliveries (every one it ever had)."""
    from orders.models import OrderSubmission
    from rmas.models import RmaSubmission

    keys = set(
        OrderSubmission.objects.filter(pk__in=list(ledger.orders)).values_list("delivery__idempotency_key", flat=True)
    )
    keys |= set(
        RmaSubmission.objects.filter(pk__in=list(ledger.rmas)).values_list("delivery__idempotency_key", flat=True)
    )
    return {str(k) for k in keys if k}


def outcome(stack: Stack, ledger: Ledger, recovered: float | None, notes: list[str] | None = None) -> Outcome:
    tally = settle(stack, ledger)
    return Outcome(tally.acknowledged, tally.lost, tally.duplicated, recovered, notes or [])


def token(stack: Stack) -> str:
    return stack.organization().upstream_token


@drill("upstream_outage", bound=150)
def upstream_outage(stack: Stack, report: Report, args) -> Outcome:
    """The upstream answers 500 for two minutes while 500 orders and 100 RMAs are submitted."""
    from outbox.models import Delivery

    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    since = time.time()
    stack.sandbox.set_faults(error_rate=1.0, error_status=500, token=token(stack))
    began = time.monotonic()
    submit_orders(stack, ledger, f"OUT-{tag}", 500, ref)
    submit_rmas(stack, ledger, f"OUT-{tag}", 100)
    report.say(f"{ledger.acknowledged} submitted in {time.monotonic() - began:.0f} s; the upstream stays down")
    time.sleep(max(0.0, args.outage - (time.monotonic() - began)))
    # The retries are spread: when the upstream comes back, the next attempts are due over a window
    # (full jitter up to OUTBOX_RETRY_CAP), not all at once.
    keys = keys_of(ledger)
    due = list(
        Delivery.objects.filter(idempotency_key__in=keys, status=Delivery.Status.RETRYING).values_list(
            "next_attempt_at", flat=True
        )
    )
    stack.sandbox.clear_faults()
    healed, healed_at = time.monotonic(), time.time()
    report.say(f"the upstream answers again after {healed - began:.0f} s")
    recovered = wait_delivered(ledger, 300)
    calls = [c for c in stack.sandbox.calls(since, method="POST") if c[4] in keys]
    during = [c for c in calls if c[0] < healed_at]
    per_key = Counter(c[4] for c in during)
    mean = sum(per_key.values()) / max(1, len(keys))
    # Without a cap, doubling from 1 s would allow ~7 attempts in 2 minutes; uncapped fixed
    # retries every second, ~120. Capped at 15 s with full jitter: about outage / 8 s.
    report.check(
        len(during) > 0 and max(per_key.values(), default=0) <= args.outage / 2,
        f"the retries were capped during the outage: {mean:.1f} attempts per write on average, "
        f"at most {max(per_key.values(), default=0)} (outage {args.outage:g} s)",
    )
    if due:
        buckets = Counter(int(d.timestamp()) for d in due)
        share = max(buckets.values()) / len(due)
        window = (max(due) - min(due)).total_seconds()
        report.check(
            share <= 0.2 and window >= 5,
            f"the retries due at healing were spread over {window:.0f} s, at most {share:.0%} of them in one second",
        )
    after = [c for c in calls if c[0] >= healed_at]
    per_second = Counter(int(c[0]) for c in after)
    peak = max(per_second.values(), default=0)
    span = (max(c[0] for c in after) - healed_at) if after else 0.0
    notes = [
        f"after healing: {len(after)} write requests over {span:.0f} s, peak {peak} requests/s "
        f"(mean {len(after) / max(span, 1):.0f}/s)"
    ]
    report.check(
        peak <= max(20, 0.25 * len(keys)),
        f"no thundering herd: the peak second after healing holds {peak} of {len(keys)} writes",
    )
    return outcome(stack, ledger, recovered, notes)


@drill("drop_after_commit", bound=90)
def drop_after_commit(stack: Stack, report: Report, args) -> Outcome:
    """10% of writes are committed upstream and the answer is dropped."""
    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    since = time.time()
    stack.sandbox.set_faults(drop_after_commit_rate=0.1, token=token(stack))
    submit_orders(stack, ledger, f"DROP-{tag}", 180, ref)
    submit_rmas(stack, ledger, f"DROP-{tag}", 20)
    began = time.monotonic()
    recovered = wait_delivered(ledger, 120)
    stack.sandbox.clear_faults()
    keys = keys_of(ledger)
    calls = [c for c in stack.sandbox.calls(since, method="POST") if c[4] in keys]
    dropped = {c[4] for c in calls if c[3] == 0}
    answered_after_drop = {c[4] for c in calls if c[4] in dropped and c[3] in (200, 201)}
    report.check(len(dropped) >= 5, f"{len(dropped)} answers were dropped after the write committed")
    report.check(
        answered_after_drop == dropped,
        f"each was sent again with its idempotency key and answered from the upstream's record "
        f"({len(answered_after_drop)} of {len(dropped)})",
    )
    return outcome(stack, ledger, recovered if recovered is None else time.monotonic() - began)


@drill("rate_limit", bound=60)
def rate_limit(stack: Stack, report: Report, args) -> Outcome:
    """429 with Retry-After: no request is sent before its deadline."""
    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    checked = 0
    early: list[str] = []
    began = time.monotonic()
    recovered: float | None = 0.0
    # 1 s is waited inside the client's call; 6 s exceeds its back-off cap and goes back to the outbox.
    for retry_after in (1, 6):
        round_ledger = Ledger()
        since = time.time()
        stack.sandbox.set_faults(
            rate_limit_rate=1.0, retry_after=retry_after, count=15, method="POST", token=token(stack)
        )
        submit_orders(stack, round_ledger, f"RATE{retry_after}-{tag}", 15, ref)
        took = wait_delivered(round_ledger, 60)
        recovered = None if took is None or recovered is None else recovered + took
        stack.sandbox.clear_faults()
        keys = keys_of(round_ledger)
        by_key = defaultdict(list)
        for call in stack.sandbox.calls(since):
            if call[4] in keys:
                by_key[call[4]].append(call)
        for key, calls in by_key.items():
            for refused, following in itertools.pairwise(calls):
                if refused[3] == 429:
                    checked += 1
                    if following[0] < refused[0] + retry_after - 0.05:
                        early.append(f"{key}: {following[0] - refused[0]:.2f} s after a 429 asking {retry_after} s")
        ledger.orders.update(round_ledger.orders)
    report.check(checked >= 25, f"{checked} refusals with Retry-After were followed by another attempt")
    report.check(not early, f"none was sent before its deadline ({len(early)} early{': ' + early[0] if early else ''})")
    report.say(f"both rounds took {time.monotonic() - began:.0f} s")
    return outcome(stack, ledger, recovered)


def kill(pid: int, what: str, report: Report) -> bool:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return report.check(False, f"{what} (pid {pid}) was there to kill")
    report.say(f"kill -9 {what} (pid {pid})")
    return True


@drill("kill_worker", bound=90)
def kill_worker(stack: Stack, report: Report, args) -> Outcome:
    """kill -9 of a worker child, then of the worker's main process (and of beat), mid-submissions and mid-sync."""
    from django.db import close_old_connections

    from mirror.models import Order
    from outbox.models import Delivery
    from sync.models import SyncRun
    from sync.tasks import sync_resource
    from upstream.api import COLLECTION_PATHS as PATHS

    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    org = stack.organization()
    log_before = stack.log()
    # Slow answers, so that calls are in flight when the processes die.
    stack.sandbox.set_faults(latency_ms=300, token=token(stack))
    submit_orders(stack, ledger, f"KILL-{tag}", 80, ref)
    sending = wait_until(lambda: Delivery.objects.filter(status=Delivery.Status.SENDING).exists(), 20, 0.05)
    report.check(bool(sending), "deliveries were in flight")
    child = stack.worker_children()
    kill(child[0], "a worker child", report)
    time.sleep(2)
    submit_orders(stack, ledger, f"KILL2-{tag}", 40, ref)
    wait_until(lambda: Delivery.objects.filter(status=Delivery.Status.SENDING).exists(), 20, 0.05)
    kill(stack.worker(), "the worker's main process", report)
    killed = time.monotonic()
    recovered = wait_delivered(ledger, 180)
    recovered = None if recovered is None else time.monotonic() - killed
    report.check(
        "worker exited with exit status -9 (killed by SIGKILL)" in stack.log()[len(log_before) :],
        "runstack saw the worker die and started it again",
    )
    # Mid-sync: a slow sync of the orders, the worker killed while it runs, the task run again.
    # Each answer takes 4 s (the client waits 10): the kill, a second after the run starts, lands in its
    # first page. With 1 s answers a run of 950 orders could finish before the kill (a CI run saw it).
    stack.sandbox.set_faults(latency_ms=4000, method="GET", token=token(stack))
    sync_resource.delay(org.pk, "orders", "manual")
    working = wait_until(
        lambda: SyncRun.objects.filter(resource="orders", status=SyncRun.Status.WORKING, trigger="manual").first(),
        60,
        0.1,
    )
    if report.check(working is not None, "a sync of the orders was working"):
        time.sleep(1)  # into its first page
        holder = working.claimed_by
        pid = stack.worker()
        os.killpg(pid, signal.SIGKILL)  # the main process and its children at once, as an OOM kill would
        report.say(f"kill -9 the worker's main process and its children mid-sync (pid {pid}; the run's: {holder})")
        resumed = time.monotonic()
        # The killed task is redelivered (acks late) or the next schedule runs it: either way a run
        # completes, the dead one having been reaped as soon as its process was known gone.
        stack.sandbox.clear_faults()
        wait_until(lambda: len(stack.pids("portal worker")) == 1 and stack.worker_children(), 30, 0.2)
        sync_resource.delay(org.pk, "orders", "manual")

        def done():
            close_old_connections()
            return SyncRun.objects.filter(resource="orders", status=SyncRun.Status.SUCCESS, pk__gt=working.pk).first()

        finished = wait_until(done, 90, 0.5)
        working.refresh_from_db()
        report.check(
            finished is not None and working.status == SyncRun.Status.FAILED,
            f"the sync completed on rerun after {time.monotonic() - resumed:.1f} s; the killed run: "
            f"{working.status} ({working.error[:80]})",
        )
        with stack.client() as client:
            upstream = sum(1 for _ in client.iter_rows(PATHS["orders"]))
        mirrored = Order.objects.for_org(org).filter(vanished_at=None).count()
        report.check(mirrored == upstream, f"the mirror holds every upstream order ({mirrored} of {upstream})")
    stack.sandbox.clear_faults()
    # Beat too: runstack starts it again and /healthz sees its ticks.
    beat = stack.pids("portal beat")
    if report.check(len(beat) == 1, "beat's process found"):
        kill(beat[0], "beat", report)
        report.check(
            bool(wait_until(lambda: "beat started again" in stack.log()[len(log_before) :], 30)),
            "runstack started beat again",
        )
        report.check(stack.healthy(60), "/healthz answers 200 with the new beat")
    return outcome(stack, ledger, recovered)


@drill("redis_restart", bound=60)
def redis_restart(stack: Stack, report: Report, args) -> Outcome:
    """Redis (broker and cache) restarted, empty, with submissions queued."""
    from django.conf import settings

    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    worker = stack.worker()
    family = [worker, *stack.worker_children()]
    for pid in family:  # the worker holds still: what is submitted stays queued in Redis
        os.kill(pid, signal.SIGSTOP)
    try:
        submit_orders(stack, ledger, f"REDIS-{tag}", 60, ref)
        submit_rmas(stack, ledger, f"REDIS-{tag}", 10)
        queued = stack.redis.client().llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        report.check(queued >= 50, f"{queued} tasks were queued in Redis")
        stack.redis.stop()
        stack.redis.start()  # the same port, empty: the queued tasks are gone
        restarted = time.monotonic()
        report.say("Redis restarted empty")
    finally:
        for pid in family:
            os.kill(pid, signal.SIGCONT)
    recovered = wait_delivered(ledger, 120)
    recovered = None if recovered is None else time.monotonic() - restarted
    report.check(stack.healthy(60), "/healthz answers 200 (broker and cache back)")
    report.check("worker exited" not in stack.log()[-20000:], "the worker reconnected without a restart")
    return outcome(stack, ledger, recovered)


@drill("postgres_restart", bound=90)
def postgres_restart(stack: Stack, report: Report, args) -> Outcome:
    """PostgreSQL restarted under load: 503 'back in a moment', then web, worker and beat recover by themselves."""
    import requests
    from django.db import close_old_connections, connections

    ledger, tag, ref = Ledger(), run_tag(), reference(stack)
    browser = stack.browser()
    report.check(browser.get(f"{stack.base}/orders/", timeout=15).status_code == 200, "alice's orders page answers 200")
    log_before = len(stack.log())
    token_of_demo = token(stack)
    stack.sandbox.set_faults(latency_ms=200, token=token_of_demo)
    submit_orders(stack, ledger, f"PG-{tag}", 120, ref)
    connections.close_all()
    stack.pg.stop()
    stopped = time.monotonic()
    report.say("PostgreSQL stopped")
    page = browser.get(f"{stack.base}/orders/", timeout=15)
    report.check(
        page.status_code == 503 and "Back in a moment" in page.text and bool(page.headers.get("Retry-After")),
        f"a signed-in page answers 503 'Back in a moment' with Retry-After (got {page.status_code})",
    )
    post = browser.post(
        f"{stack.base}/accounts/switch/",
        {"csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""), "organization": "1"},
        headers={"Referer": f"{stack.base}/"},
        timeout=15,
    )
    report.check(post.status_code == 503, f"a form post answers 503 (got {post.status_code})")
    hook = requests.post(
        f"{stack.base}/webhooks/order-update/",
        data=b'{"id": 1}',
        headers={
            "Content-Type": "application/json",
            "X-MBX-Token": token_of_demo,
            "X-MBX-Date": datetime.now(UTC).isoformat(),  # fresh: the check that needs the database comes next
            "X-MBX-Signature": "0" * 64,
        },
        timeout=15,
    )
    report.check(hook.status_code == 503, f"a webhook answers 503, to be sent again (got {hook.status_code})")
    for who, client in (("with", browser), ("without", requests)):
        answer = client.get(f"{stack.base}/healthz", timeout=15)
        report.check(
            answer.status_code == 503, f"/healthz {who} a session cookie answers 503 (got {answer.status_code})"
        )
    time.sleep(max(0.0, 15 - (time.monotonic() - stopped)))
    stack.pg.start()
    back = time.monotonic()
    report.say(f"PostgreSQL started again after {back - stopped:.0f} s")
    stack.sandbox.clear_faults()
    home = wait_until(lambda: browser.get(f"{stack.base}/", timeout=15).status_code == 200, 60)
    report.check(bool(home), f"web: the same session's pages answer 200 again after {time.monotonic() - back:.1f} s")
    report.check(stack.healthy(60), f"/healthz answers 200 again after {time.monotonic() - back:.1f} s")
    close_old_connections()
    recovered = wait_delivered(ledger, 120)
    recovered = None if recovered is None else time.monotonic() - back
    report.check(recovered is not None, "worker: every acknowledged order delivered after the outage")
    after = stack.log()[log_before:]
    report.check(
        bool(wait_until(lambda: "beat: the database answers again" in stack.log()[log_before:], 60)),
        "beat: it says the database answers again",
    )
    from portal.tasks import touch_user

    alice, stamp = stack.user(), f"drill-{tag}"
    touch_user.delay(alice.pk, stamp)
    report.check(
        bool(wait_until(lambda: type(alice).objects.filter(pk=alice.pk, first_name=stamp).exists(), 30)),
        "worker: a task sent after the outage runs",
    )
    report.check(
        "exited with" not in after and "started again" not in after,
        "nothing was restarted: web, worker and beat lived through it",
    )
    return outcome(stack, ledger, recovered)
