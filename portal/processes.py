"""Which process holds a claim, and whether it is known gone (a worker killed mid-task).

A claim (an outbox delivery being sent, a sync run working) records `this_process()`: host,
pid and the process's start time. `holder_is_gone()` says True only when that process is known
dead: it ran on this host and its pid no longer exists, is a zombie, or belongs to another
process now (its start time differs). A holder on another host, or one that cannot be read, is
taken as alive: its claim stands until its lease or its heartbeat runs out.
"""

from __future__ import annotations

import os
import socket


def _process_state(pid: int) -> tuple[str, str] | None:
    """(state, start time in clock ticks since boot) of a process from /proc; None where it cannot
    be read (no such process, or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()  # after "pid (command name)"
    except (OSError, IndexError):
        return None
    if len(fields) < 20:
        return None
    return fields[0].decode(), fields[19].decode()


def this_process() -> str:
    """How a claim names its sender: "host pid start-time" (start time where /proc has it)."""
    pid = os.getpid()
    state = _process_state(pid)
    return f"{socket.gethostname()} {pid}" + (f" {state[1]}" if state else "")


def holder_is_gone(holder: str) -> bool:
    """True only when the process named by `this_process()` is known to be dead: it ran on this
    host and its pid is gone, a zombie, or another process's now. Unknown means alive."""
    parts = holder.split()
    if len(parts) < 2 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False  # this very process (a thread of it may be sending)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists (another user's)
    state = _process_state(pid)
    if state is None:
        return False
    if state[0] in ("Z", "X"):  # dead, not yet reaped
        return True
    return len(parts) > 2 and state[1] != parts[2]  # the pid was reused
