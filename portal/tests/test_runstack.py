"""runstack's supervisor restarts a process that died, says so, and keeps the others running.

The children are real processes (`python -c` one-liners): one that keeps running, one that
exits at once with status 3. The back-off is shortened to tenths of a second so that a few
restarts happen within about two seconds.
"""

from __future__ import annotations

import io
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.management.commands.runstack import Supervisor, describe_exit

ROOT = Path(__file__).resolve().parents[2]
STEADY = "import os, time; print('steady up', os.getpid(), flush=True); time.sleep(60)"
CRASHER = "import sys; print('crasher up', flush=True); print('boom', file=sys.stderr, flush=True); sys.exit(3)"
FAST = {"restart_first": 0.1, "restart_max": 0.4, "stable_after": 30.0, "stop_timeout": 5.0}


def children() -> list[tuple[str, list[str]]]:
    return [("steady", [sys.executable, "-c", STEADY]), ("crasher", [sys.executable, "-c", CRASHER])]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_child_that_dies_is_restarted_with_a_back_off_and_the_others_keep_running():
    out = io.StringIO()
    supervisor = Supervisor(children(), out=out, **FAST)
    supervisor.start()
    steady, crasher = supervisor.children
    assert steady.proc is not None
    steady_pid = steady.proc.pid
    try:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            supervisor.poll(0.05)
        # The steady process was never touched while the other one kept dying.
        assert steady.proc is not None and steady.proc.pid == steady_pid and steady.proc.poll() is None
        assert steady.restarts == 0
    finally:
        supervisor.stop()
    log = out.getvalue()
    # The crasher ran again and again, each exit announced with its name and exit status ...
    exits = re.findall(r"crasher exited with exit status 3 after [\d.]+s; restarting it in ([\d.]+)s", log)
    assert len(exits) >= 3 and crasher.restarts >= 3, log
    assert log.count("crasher started again") == crasher.restarts
    # ... its own output (stderr too) is kept, with its name in front, once per run ...
    # (the last run may be stopped before it prints, on a busy machine)
    runs = len(re.findall(r"^crasher +\| crasher up$", log, re.M))
    assert crasher.restarts <= runs <= crasher.restarts + 1, log
    assert re.search(r"^crasher +\| boom$", log, re.M), log
    # ... and the waits double up to the cap, so a crash loop does not spin.
    assert [float(d) for d in exits[:4]] == [0.1, 0.2, 0.4, 0.4][: len(exits[:4])]
    assert crasher.restarts <= 8
    assert log.count("steady up") == 1 and log.count("steady exited") == 1
    # Stopping ends the steady one too, with SIGTERM.
    assert steady.proc is None and not alive(steady_pid)
    assert "steady exited with exit status -15 (killed by SIGTERM)" in log


def test_a_child_that_ran_for_a_while_starts_the_back_off_over():
    out = io.StringIO()
    supervisor = Supervisor(
        [("slow", [sys.executable, "-c", "import time; time.sleep(0.3)"])],
        out=out,
        restart_first=0.1,
        restart_max=10.0,
        stable_after=0.2,  # it always runs longer than this
        stop_timeout=5.0,
    )
    supervisor.start()
    try:
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            supervisor.poll(0.05)
    finally:
        supervisor.stop()
    delays = re.findall(r"slow exited with exit status 0 after [\d.]+s; restarting it in ([\d.]+)s", out.getvalue())
    assert len(delays) >= 2 and set(delays) == {"0.1"}, out.getvalue()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_every_child(signum):
    """The supervisor in a process of its own, as `manage.py runstack` runs it: the signal
    ends it cleanly, and it ends its children first."""
    script = (
        "import sys\n"
        "from portal.management.commands.runstack import Supervisor\n"
        f"Supervisor({children()!r}, **{FAST!r}).run()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = b""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            deadline = time.monotonic() + 20
            while b"crasher started again" not in output and time.monotonic() < deadline:
                if sel.select(0.1):
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    output += chunk
        found = re.search(rb"steady up (\d+)", output)
        assert found and b"crasher started again" in output, output.decode()
        steady_pid = int(found.group(1))
        assert alive(steady_pid)
        proc.send_signal(signum)
        rest, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    output += rest
    assert proc.returncode == 0, output.decode()
    assert not alive(steady_pid)
    assert b"steady exited with exit status -15 (killed by SIGTERM)" in output, output.decode()


def test_exit_statuses_are_described_with_the_signal_name():
    assert describe_exit(3) == "exit status 3"
    assert describe_exit(-9) == "exit status -9 (killed by SIGKILL)"


def test_a_child_killed_with_sigkill_comes_back_and_the_log_says_so():
    """The drill: `kill -9` one process of the stack; it is started again, the others never stop."""
    out = io.StringIO()
    supervisor = Supervisor(
        [("steady", [sys.executable, "-c", STEADY]), ("victim", [sys.executable, "-c", STEADY])], out=out, **FAST
    )
    supervisor.start()
    steady, victim = supervisor.children
    assert steady.proc is not None and victim.proc is not None
    steady_pid, victim_pid = steady.proc.pid, victim.proc.pid
    try:
        deadline = time.monotonic() + 10
        while not re.search(r"^victim +\| steady up", out.getvalue(), re.M) and time.monotonic() < deadline:
            supervisor.poll(0.05)
        os.kill(victim_pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while victim.restarts == 0 and time.monotonic() < deadline:
            supervisor.poll(0.05)
        assert victim.proc is not None and victim.proc.pid != victim_pid and victim.proc.poll() is None
        new_pid = victim.proc.pid
        assert steady.proc is not None and steady.proc.pid == steady_pid and steady.restarts == 0
    finally:
        supervisor.stop()
    log = out.getvalue()
    assert re.search(
        r"runstack \| victim exited with exit status -9 \(killed by SIGKILL\) after [\d.]+s; "
        r"restarting it in 0\.1s \(at \d\d:\d\d:\d\d\); the others keep running",
        log,
    ), log
    assert f"victim started again (restart 1, pid {new_pid})" in log
    assert not alive(victim_pid) and not alive(new_pid) and not alive(steady_pid)
