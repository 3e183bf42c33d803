"""A file check in a child process, with bounded memory and time.

Parsing a hostile file can take a lot of memory and time (frictionless's grow
much faster than the file for some shapes). The check runs in a Python process
of its own, which imports no CKAN, opens no database connection and shares
nothing with the web worker or the job:

- its address space is capped with setrlimit(RLIMIT_AS): past it allocations
  fail with MemoryError and the report says the file needs too much memory;
- it is killed after a wall-clock limit (the report says "timeout");
  RLIMIT_CPU stops it too if its parent ever went away.

Starting Python and importing frictionless takes longer than checking a small
file, so each web or job worker process starts, at its first check, a zygote
(`python -m ckanext.mel.check_process --zygote`, about 50 MB resident): a
process of its own as above, which imports the check's modules once and warms
frictionless up on a CSV of its own. It keeps one child forked ahead (a spare),
which warms itself up too and waits for a check: the fork and the pages the
check writes are not copied while an uploader waits. Sent a check, the spare
sets the limits, checks and writes its answer to a pipe; the zygote kills it at
its time limit, reaps it, relays its answer and forks the next spare. The
zygote ends when its worker closes its stdin (the worker has gone).

A check can be started (`Started`) and its outcome taken later: the upload path
sends the file's check as soon as the file is stored, indexes and commits the
dataset meanwhile, then reads the answer. A started check whose answer is no
longer wanted is abandoned, which kills the zygote (the next check starts
another): its answer must never be read as the next check's.

A worker uses only the zygote it started itself (not its parent's, after a fork:
an rq work horse starts its own), for one check at a time. A second thread's
check meanwhile, or a check whose zygote has died, runs as before in a new
process (`python -m ckanext.mel.check_process`); a zygote that does not answer
within the time limit and ZYGOTE_MARGIN is killed and the check reported
"timeout".

The file is read by the child, from a path or a link, never by the worker or
the zygote, so their memory does not grow with the file. The task goes in
pickled (from the portal) and is unpickled only by the child; the report comes
back as JSON (from code that read a hostile file), which is only ever data.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import gc
import json
import logging
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ckanext.mel import links, tabular

log = logging.getLogger(__name__)

# What the worker waits for its zygote's answer beyond the check's own time limit, after which the
# zygote (stuck, or too slow to start) is killed and the check reported "timeout".
ZYGOTE_MARGIN = 5.0
_REQUEST = struct.Struct("!QQd")  # the pickled task's length, the memory limit, the time limit
_LENGTH = struct.Struct("!Q")  # an answer's length


@dataclass(frozen=True)
class Task:
    """What to check, against what, within which limits. Plain data: it crosses to the child."""

    schema: dict[str, Any]
    coordinates: tuple[str, str] | None
    limits: tabular.Limits
    max_size: int
    path: str | None = None  # an uploaded file, copied out of the storage
    url: str | None = None  # a link
    fetch: links.Policy | None = None
    options: dict[str, Any] = field(default_factory=dict)  # more keyword arguments of tabular.check


@dataclass(frozen=True)
class Outcome:
    report: tabular.Report
    source: dict[str, Any]


@dataclass(frozen=True)
class _Ended:
    """How a checking process ended: what it wrote, its exit code (-N: killed by signal N), the end
    of its stderr, and whether it was killed at its time limit."""

    out: str
    returncode: int
    err: str
    timed_out: bool = False


def run(task: Task, timeout: float, memory: int) -> Outcome:
    """Check in a child process; a child that runs out of time is killed and reported "timeout"."""
    return Started(task, timeout, memory).outcome()


class Started:
    """A check sent to this process's zygote, which runs it while the caller does other work (the
    upload path indexes the dataset meanwhile); `outcome()` waits for its answer. A check whose
    answer is no longer wanted is `abandon()`ed: its zygote is killed, as the answer would
    otherwise be the next check's. With the zygote busy (another thread's check) or failed, the
    check runs in a new process at `outcome()`. `cleanup` runs once it is over (the task's file)."""

    def __init__(
        self, task: Task, timeout: float, memory: int, cleanup: Callable[[], None] | None = None
    ) -> None:
        self._pickled = pickle.dumps(task)
        self._timeout, self._memory, self._cleanup = timeout, memory, cleanup
        self._source = {"source": "link" if task.url else "upload"}
        self._ended: _Ended | None = None
        self._deadline: float | None = None  # while the zygote checks it (and this holds _lock)
        if _lock.acquire(blocking=False):  # else another thread is checking: a new process, not a queue
            try:
                self._deadline, self._ended = _send_to_zygote(self._pickled, timeout, memory)
            finally:
                if self._deadline is None:
                    _lock.release()

    def outcome(self) -> Outcome:
        try:
            if self._deadline is not None:
                try:
                    self._ended = _answer_of_zygote(self._deadline, self._timeout)
                finally:
                    self._deadline = None
                    _lock.release()
            ended = self._ended or _in_new_process(self._pickled, self._timeout, self._memory)
            return _outcome(ended, self._source, self._timeout, self._memory)
        finally:
            self._close()

    def abandon(self) -> None:
        """Its answer is not wanted (nothing, once it has its outcome)."""
        if self._deadline is not None:
            _forget_zygote()
            self._deadline = None
            _lock.release()
        self._close()

    def _close(self) -> None:
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup()


def _outcome(ended: _Ended, source: dict[str, Any], timeout: float, memory: int) -> Outcome:
    if ended.timed_out:
        return Outcome(tabular.failure("timeout", seconds=int(timeout)), source)
    try:
        answer = json.loads(ended.out)
    except ValueError:
        if ended.returncode > 0 and "MemoryError" not in ended.err:
            log.error("The check process failed (%s): %s", ended.returncode, ended.err)
            return Outcome(tabular.failure("internal"), source)
        # Killed (by a signal) or out of memory before it could answer.
        log.warning("The check process ended with %s: %s", ended.returncode, ended.err)
        return Outcome(tabular.failure("too-much-memory", limit=memory), source)
    if answer.get("problem"):
        log.error("Checking a file failed in the check process:\n%s", answer["problem"])
    return Outcome(tabular.Report(**answer["report"]), answer["source"])


def _in_new_process(pickled: bytes, timeout: float, memory: int) -> _Ended:
    process = subprocess.Popen(
        [sys.executable, "-m", "ckanext.mel.check_process", str(memory), str(int(timeout) + 5)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        close_fds=True,
    )
    try:
        out, err = process.communicate(pickled, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return _Ended("", process.returncode, "", timed_out=True)
    return _Ended(out.decode(errors="replace"), process.returncode, err[-2000:].decode(errors="replace"))


# The worker's side of its zygote


class _Zygote:
    def __init__(self) -> None:
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ckanext.mel.check_process", "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
            start_new_session=True,  # its own process group: killed with the check it runs
        )
        assert self.process.stdin and self.process.stdout
        self.requests, self.answers = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self.requests, False)  # a stuck zygote never blocks a write

    def send(self, pickled: bytes, timeout: float, memory: int) -> float:
        """The check sent; the deadline of its answer."""
        deadline = time.monotonic() + timeout + ZYGOTE_MARGIN
        _write(self.requests, _REQUEST.pack(len(pickled), memory, timeout) + pickled, deadline)
        return deadline

    def answer(self, deadline: float) -> _Ended:
        (length,) = _LENGTH.unpack(_read(self.answers, deadline, _LENGTH.size))
        return _Ended(**json.loads(_read(self.answers, deadline, length)))

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.close()

    def close(self) -> None:
        """Close this process's ends of the pipes (after a fork: the parent's zygote lives on)."""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()


_zygote: _Zygote | None = None
_lock = threading.Lock()


def _send_to_zygote(pickled: bytes, timeout: float, memory: int) -> tuple[float | None, _Ended | None]:
    """The check sent to this process's zygote, started if need be: the deadline of its answer, or
    how it ended already (a zygote that took no task in time), or neither if the zygote failed."""
    global _zygote
    if _zygote is not None and _zygote.owner != os.getpid():
        _zygote.close()  # inherited from the process we were forked from: its zygote, not ours
        _zygote = None
    if _zygote is not None and _zygote.process.poll() is not None:
        log.warning("The check zygote had ended (%s); starting another", _zygote.process.returncode)
        _zygote.close()
        _zygote = None
    try:
        if _zygote is None:
            _zygote = _Zygote()
        return _zygote.send(pickled, timeout, memory), None
    except TimeoutError:
        return None, _zygote_timed_out(timeout)
    except Exception:
        _zygote_failed()
        return None, None


def _answer_of_zygote(deadline: float, timeout: float) -> _Ended | None:
    """The answer of the check sent to the zygote; None if the zygote failed."""
    assert _zygote is not None
    try:
        return _zygote.answer(deadline)
    except TimeoutError:
        return _zygote_timed_out(timeout)
    except Exception:
        _zygote_failed()
        return None


def _zygote_failed() -> None:
    log.warning("The check zygote failed; checking in a new process", exc_info=True)
    _forget_zygote()


def _zygote_timed_out(timeout: float) -> _Ended:
    log.warning("The check zygote did not answer within %s s; killed", timeout + ZYGOTE_MARGIN)
    _forget_zygote()
    return _Ended("", -signal.SIGKILL, "", timed_out=True)


def _forget_zygote() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.kill()
        _zygote = None


def _wait(fd: int, event: int, deadline: float | None) -> None:
    poll = select.poll()
    poll.register(fd, event)
    left = None if deadline is None else max(0, math.ceil((deadline - time.monotonic()) * 1000))
    if not poll.poll(left):
        raise TimeoutError


def _read(fd: int, deadline: float | None, size: int = -1) -> bytes:
    """`size` bytes from fd (to its end if -1) before the deadline; EOFError if it ends first."""
    data = bytearray()
    while size < 0 or len(data) < size:
        _wait(fd, select.POLLIN, deadline)
        chunk = os.read(fd, 65536 if size < 0 else size - len(data))
        if not chunk:
            if size < 0:
                break
            raise EOFError
        data += chunk
    return bytes(data)


def _write(fd: int, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        view = view[os.write(fd, view) :]


# The checking processes


def main() -> None:
    """A new process: the task from stdin, the report as JSON on stdout."""
    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # whatever a library prints stays out of the answer
    out.write(_answer(sys.stdin.buffer.read(), memory, cpu))
    out.flush()


# A first check warms frictionless up (its plugins, jsonschema): once in the zygote, then once in
# each spare child, so that the pages a check writes are the child's own before its task comes.
_WARM_UP = (b"a,b\n1,x\n", {"fields": [{"name": "a", "type": "integer"}, {"name": "b"}]})


def zygote() -> None:
    """The zygote: each request on stdin checked by a child forked ahead, its answer relayed on stdout."""
    requests, answers = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout = sys.stderr
    tabular.check(*_WARM_UP)
    gc.freeze()  # the children's collections leave the zygote's objects, and so their pages, alone
    spare = _Spare()
    while True:
        try:
            length, memory, timeout = _REQUEST.unpack(_read(requests, None, _REQUEST.size))
            pickled = _read(requests, None, length)
        except EOFError:  # the worker has gone
            spare.dismiss()
            return
        ended = spare.check(pickled, memory, timeout)
        if ended is None:  # the spare had ended (killed?) before its task: a new one checks it
            spare = _Spare()
            ended = spare.check(pickled, memory, timeout) or _Ended("", 1, "no check process")
        answer = json.dumps(dataclasses.asdict(ended)).encode()
        try:
            _write(answers, _LENGTH.pack(len(answer)) + answer, None)
        except BrokenPipeError:
            return
        spare = _Spare()  # forked and warmed up while the worker reads the answer


class _Spare:
    """A child of the zygote, forked and warmed up before it is given its check: the fork, and the
    copying of the pages it writes, are not the uploader's wait."""

    def __init__(self) -> None:
        task_end, self.tasks = os.pipe()
        self.answers, answer = os.pipe()
        self.err = tempfile.TemporaryFile()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.tasks)
            os.close(self.answers)
            _child(task_end, answer, self.err.fileno())
        os.close(task_end)
        os.close(answer)
        os.set_blocking(self.tasks, False)  # a task larger than the pipe is written as it reads

    def check(self, pickled: bytes, memory: int, timeout: float) -> _Ended | None:
        """Its check's end, killed at the time limit; None if it had ended before its task."""
        deadline = time.monotonic() + timeout
        out: str | None = ""
        ended_before = False
        try:
            _write(self.tasks, _REQUEST.pack(len(pickled), memory, timeout) + pickled, deadline)
            out = _read(self.answers, deadline).decode(errors="replace")
        except TimeoutError:
            os.kill(self.pid, signal.SIGKILL)
            out = None
        except BrokenPipeError:  # it ended before it read its task
            ended_before = True
        finally:
            os.close(self.tasks)
            os.close(self.answers)
        _, status = os.waitpid(self.pid, 0)
        with self.err:
            self.err.seek(max(0, os.fstat(self.err.fileno()).st_size - 2000))
            tail = self.err.read().decode(errors="replace")
        if ended_before:
            log.warning("A spare check process had ended (%s): %s", status, tail)
            return None
        return _Ended(out or "", os.waitstatus_to_exitcode(status), tail, timed_out=out is None)

    def dismiss(self) -> None:
        """Its task pipe closed unused: it ends without checking anything."""
        os.close(self.tasks)
        os.close(self.answers)
        os.waitpid(self.pid, 0)
        self.err.close()


def _child(tasks: int, answer: int, err: int) -> NoReturn:
    """A spare child: nothing of the zygote's stdin and stdout, its stderr to a file; warms up, then
    checks the one task it is sent (none if the zygote closes the pipe first)."""
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(err, 1)
        os.dup2(err, 2)
        tabular.check(*_WARM_UP)
        try:
            length, memory, timeout = _REQUEST.unpack(_read(tasks, None, _REQUEST.size))
            pickled = _read(tasks, None, length)
        except EOFError:
            os._exit(0)
        # RLIMIT_CPU counts the warm-up too.
        used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = math.ceil(used.ru_utime + used.ru_stime) + int(timeout) + 5
        with open(answer, "w") as out:
            out.write(_answer(pickled, memory, cpu))
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def _answer(pickled: bytes, memory: int, cpu: int) -> str:
    """Limits first, then the task, the report as JSON."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    problem = None
    try:
        task = pickle.loads(pickled)
        report, source = _check(task)
    except MemoryError:
        report, source = tabular.failure("too-much-memory", limit=memory), {}
    except Exception:
        report, source, problem = tabular.failure("internal"), {}, traceback.format_exc()
    try:
        return json.dumps({"report": dataclasses.asdict(report), "source": source, "problem": problem})
    except MemoryError:
        return json.dumps(
            {
                "report": dataclasses.asdict(tabular.failure("too-much-memory", limit=memory)),
                "source": {},
                "problem": None,
            }
        )


def _check(task: Task) -> tuple[tabular.Report, dict[str, Any]]:
    csv.field_size_limit(task.limits.max_cell_length)
    if task.url is not None:
        source: dict[str, Any] = {"source": "link"}
        try:
            fetched = links.fetch(task.url, task.fetch or links.Policy(max_bytes=task.max_size))
        except links.FetchError as error:
            return _fetch_failure(error, task.url), source
        content = fetched.content
        if fetched.redirects:
            source["redirects"] = fetched.redirects
    else:
        source = {"source": "upload"}
        try:
            with open(task.path or "", "rb") as f:
                # read(n) reserves n bytes first: the file's own size, not max_size, for small files.
                content = f.read(min(os.fstat(f.fileno()).st_size, task.max_size) + 1)
        except OSError:
            return tabular.failure("missing-file"), source
        if len(content) > task.max_size:
            return tabular.failure("too-large", limit=task.max_size), source
    source["size"] = len(content)
    return tabular.check(content, task.schema, task.coordinates, task.limits, **task.options), source


def _fetch_failure(error: links.FetchError, url: str) -> tabular.Report:
    if error.code == "too-large":
        return tabular.failure("too-large", **error.params)
    if error.code == "http-status":
        return tabular.failure("fetch-error", url=url, reason=f"HTTP {error.params.get('status')}")
    return tabular.failure("fetch-error", url=url, reason=error.code, **error.params)


if __name__ == "__main__":
    # As the package's module, not as __main__: the pickled task names its classes there, and
    # unpickling it would import this file a second time in every check.
    from ckanext.mel import check_process

    check_process.zygote() if sys.argv[1:] == ["--zygote"] else check_process.main()
