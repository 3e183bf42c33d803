"""Hostile uploads against a running portal: memory of its processes, time of its answers.

Uploads a set of hostile CSV files (tens of thousands of columns, a huge line, a
huge cell, an unclosed quote, NUL bytes, gzip named .csv, 200,000 rows…) with
resource_create to a dataset that follows a data model, one after the other,
while two threads sample every 0.2 s:

- the resident memory (RSS) of every process of the portal (web workers, job
  workers, their job processes, the check processes), with psutil if installed,
  else from /proc;
- the answer time of another user's request (GET /api/3/action/status_show)
  sent again as soon as the previous one is answered.

Then it waits for every report and prints one line per file (answer time,
report) and the figures of the README: the peak RSS of the biggest process, the
slowest upload answer and the longest wait of the other user.

    .venv/bin/python bench/hostile_uploads.py                 # starts its own portal on 127.0.0.1:5100
    .venv/bin/python bench/hostile_uploads.py --url http://127.0.0.1:5000 --token TOKEN --pid 1234

Its own portal is gunicorn as `make run` starts it (scripts/gunicorn.conf.py,
2 workers × 4 threads) and one job worker, on the database ckan_bench_h10
(created if needed; MEL_BENCH_DB changes it) and Redis database 2. Given a URL,
the token is a sysadmin's and --pid names the processes to sample (their
children are sampled too).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench_ini import LOGGING

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("MEL_VENV", REPO / ".venv"))
HEADER = "COLL_INSEE,COLL_NOM,PERIODE_DEBUT,PERIODE_FIN,NAISSANCES,NAISSANCES_FILLES,NAISSANCES_GARCONS"


def hostile_files() -> dict[str, bytes]:
    def rows(count: int) -> str:
        start = datetime.date(1800, 1, 1)
        return "".join(
            f"59{i % 100:03d},Armentières,{start + datetime.timedelta(days=i // 100)},"
            f"{start + datetime.timedelta(days=i // 100)},31,15,16\n"
            for i in range(count)
        )

    return {
        "50,000 columns (339 KB, the issue's)": (",".join(f"C{i}" for i in range(50_000)) + "\n").encode(),
        "10,000 columns (79 KB, the issue's)": (",".join(f"C{i}" for i in range(10_000)) + "\n").encode(),
        "one 20 MB line": (HEADER + "\n" + "59017," * 3_500_000 + "\n").encode(),
        "one 5 MB cell (unclosed quote)": (HEADER + '\n59017,"' + "Armentières\n" * 400_000).encode(),
        "unclosed quote": (
            HEADER + '\n59017,"Armentières,2024-01-01,2024-01-31,1,1,1\n' + rows(1000)
        ).encode(),
        "NUL bytes": (HEADER + "\n" + rows(500) + "59017,A\x00,2024-01-01,2024-01-31,1,1,1\n").encode(),
        "binary": os.urandom(2_000_000),
        "gzip named .csv": gzip.compress((HEADER + "\n" + rows(20_000)).encode()),
        "HTML page": b"<!DOCTYPE html><html><body>" + b"<p>x</p>" * 100_000 + b"</body></html>",
        "empty": b"",
        "CR-only line endings": (HEADER + "\n" + rows(1000)).replace("\n", "\r").encode("cp1252"),
        "mixed separators": (HEADER + "\n" + rows(1000).replace(",", ";", 3000)).encode(),
        "200,000 rows (10 MB, valid; job)": (HEADER + "\n" + rows(200_000)).encode(),
        "19,000 rows (1 MB, checked in the request)": (HEADER + "\n" + rows(19_000)).encode(),
    }


# Sampling


def rss_of_tree(roots: list[int]) -> dict[int, tuple[str, int]]:
    """pid: (name, RSS bytes) of the roots and all their descendants."""
    try:
        import psutil
    except ImportError:
        return _rss_from_proc(roots)
    found = {}
    for root in roots:
        try:
            parent = psutil.Process(root)
            for process in [parent, *parent.children(recursive=True)]:
                try:
                    found[process.pid] = (_role(process.cmdline()), process.memory_info().rss)
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
    return found


def _rss_from_proc(roots: list[int]) -> dict[int, tuple[str, int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    found, todo = {}, list(roots)
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss = next(
                int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS")
            )
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            found[pid] = (_role([c.decode(errors="replace") for c in cmdline]), rss)
        except (OSError, StopIteration):
            pass
        todo.extend(children.get(pid, []))
    return found


def _role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    if "ckanext.mel.check_process" in text:
        return "check process"
    if "gunicorn" in text:
        return "web worker (gunicorn)"
    if "jobs worker" in text:
        return "job worker"
    return os.path.basename(cmdline[0]) if cmdline else "?"


class Sampler(threading.Thread):
    def __init__(self, roots: list[int]):
        super().__init__(daemon=True)
        self.roots, self.stop, self.peaks = roots, threading.Event(), {}

    def run(self) -> None:
        while not self.stop.is_set():
            for _pid, (role, rss) in rss_of_tree(self.roots).items():
                if rss:  # not a zombie
                    self.peaks[role] = max(self.peaks.get(role, 0), rss)
            time.sleep(0.2)


class OtherUser(threading.Thread):
    """Another user's requests, one after the other, while the uploads go on."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.times, self.failures = url, threading.Event(), [], 0

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url + "/api/3/action/status_show", timeout=120) as response:
                    response.read()
            except (urllib.error.URLError, OSError):
                self.failures += 1
            self.times.append(time.monotonic() - started)
            time.sleep(0.1)


# The portal's API


def api(url: str, token: str, action: str, data: dict | None = None, files: dict | None = None) -> dict:
    if files:
        boundary = uuid.uuid4().hex
        body = b""
        for key, value in (data or {}).items():
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            )
        for key, (filename, content) in files.items():
            body += (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                    "Content-Type: text/csv\r\n\r\n"
                ).encode()
                + content
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    else:
        body, headers = json.dumps(data or {}).encode(), {"Content-Type": "application/json"}
    request = urllib.request.Request(
        f"{url}/api/3/action/{action}", data=body, headers={**headers, "Authorization": token}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())["result"]
    except urllib.error.HTTPError as error:
        raise RuntimeError(f"{action}: HTTP {error.code}: {error.read()[:500]!r}") from error


# Its own portal


def start_portal(port: int) -> tuple[str, str, list[subprocess.Popen], Path]:
    db = os.environ.get("MEL_BENCH_DB", "ckan_bench_h10")
    work = Path(tempfile.mkdtemp(prefix="mel-bench-"))
    env = dict(os.environ)
    pg = os.environ.get("MEL_PG_PORT", "5439")
    secret = secrets.token_urlsafe(32)
    ini = work / "ckan.ini"
    ini.write_text(
        f"""[DEFAULT]
debug = false

[app:main]
use = config:{REPO}/portal.ini
ckan.site_url = http://127.0.0.1:{port}
ckan.site_id = mel-bench-h10
sqlalchemy.url = postgresql://ckan:ckan@127.0.0.1:{pg}/{db}
ckan.datastore.write_url = postgresql://ckan:ckan@127.0.0.1:{pg}/{db}_datastore
ckan.datastore.read_url = postgresql://ckan_ro:ckan_ro@127.0.0.1:{pg}/{db}_datastore
solr_url = http://127.0.0.1:{os.environ.get("MEL_SOLR_PORT", "8983")}/solr/ckan
ckan.redis.url = redis://127.0.0.1:{os.environ.get("MEL_REDIS_PORT", "6390")}/2
ckan.storage_path = {work}/storage
SECRET_KEY = {secret}
api_token.jwt.encode.secret = string:{secret}
api_token.jwt.decode.secret = string:{secret}
smtp.server = localhost:25

{LOGGING}
"""
    )
    for name in (
        "CKAN_SQLALCHEMY_URL",
        "CKAN_DATASTORE_WRITE_URL",
        "CKAN_DATASTORE_READ_URL",
        "CKAN_REDIS_URL",
    ):
        env.pop(name, None)
    ckan = [str(VENV / "bin" / "ckan"), "-c", str(ini)]

    def run(*args: str, **kwargs) -> str:
        return subprocess.run(
            [*ckan, *args], env=env, check=True, capture_output=True, text=True, **kwargs
        ).stdout

    subprocess.run([str(REPO / "scripts/services.sh"), "createdb", db], check=True, capture_output=True)
    run("db", "upgrade")
    permissions = run("datastore", "set-permissions")
    subprocess.run(
        [str(REPO / "scripts/services.sh"), "psql", f"{db}_datastore"],
        input=permissions,
        text=True,
        check=True,
    )
    user = f"bench{secrets.token_hex(3)}"
    run("user", "add", user, f"email={user}@example.org", "password=bench-password-123")
    run("sysadmin", "add", user)
    token = run("user", "token", "add", user, "bench").strip().splitlines()[-1].strip()
    logs = open(work / "portal.log", "w")
    processes = [
        subprocess.Popen(
            [
                str(VENV / "bin" / "gunicorn"),
                "--config",
                str(REPO / "scripts/gunicorn.conf.py"),
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{port}",
                "ckanext.mel.wsgi:application",
            ],
            env={**env, "CKAN_INI": str(ini)},
            stdout=logs,
            stderr=logs,
            start_new_session=True,
        ),
        subprocess.Popen(
            [*ckan, "jobs", "worker", "default"], env=env, stdout=logs, stderr=logs, start_new_session=True
        ),
    ]
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        if any(process.poll() is not None for process in processes):
            stop(processes)
            raise RuntimeError(f"the portal stopped; see {work}/portal.log")
        try:
            urllib.request.urlopen(url + "/api/3/action/status_show", timeout=5).read()
            break
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    else:
        stop(processes)
        raise RuntimeError(f"the portal did not start; see {work}/portal.log")
    return url, token, processes, work


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--pid", type=int, action="append", default=[])
    parser.add_argument("--port", type=int, default=5100)
    parser.add_argument("--wait", type=int, default=900, help="seconds to wait for the background checks")
    args = parser.parse_args()

    processes: list[subprocess.Popen] = []
    if args.url:
        url, token, roots = args.url.rstrip("/"), args.token, args.pid
    else:
        url, token, processes, work = start_portal(args.port)
        roots = [p.pid for p in processes]
        print(f"portal on {url} (logs in {work}/portal.log)", file=sys.stderr)
    try:
        run_bench(url, token, roots, args.wait)
    finally:
        stop(processes)


def stop(processes: list[subprocess.Popen]) -> None:
    """The portal's processes and their children (a job worker's job, a check process): each
    was started in a session of its own, whose process group is stopped whole."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def run_bench(url: str, token: str, roots: list[int], wait: int) -> None:
    suffix = secrets.token_hex(3)
    commune = api(
        url,
        token,
        "organization_create",
        {
            "name": f"bench-{suffix}",
            "title": "Bench",
            "insee_code": "59017",
            "siren": "215900174",
            "population": 25000,
        },
    )
    dataset = api(
        url,
        token,
        "package_create",
        {
            "name": f"bench-naissances-{suffix}",
            "title": "Naissances",
            "notes": "Bench.",
            "owner_org": commune["id"],
            "data_model": "mel-naissances",
        },
    )
    sampler, other = Sampler(roots), OtherUser(url)
    sampler.start()
    other.start()
    time.sleep(2)
    uploads = []
    for name, content in hostile_files().items():
        started = time.monotonic()
        resource = api(
            url,
            token,
            "resource_create",
            {"package_id": dataset["id"], "name": name},
            {"upload": ("f.csv", content)},
        )
        uploads.append((name, len(content), time.monotonic() - started, resource["id"]))
        print(f"uploaded {name}: {uploads[-1][2]:.1f} s", file=sys.stderr)
    deadline = time.monotonic() + wait
    reports = {}
    while time.monotonic() < deadline:
        reports = {rid: api(url, token, "mel_validation_show", {"id": rid}) for *_, rid in uploads}
        if all(r["status"] != "pending" for r in reports.values()):
            break
        time.sleep(2)
    time.sleep(1)
    sampler.stop.set()
    other.stop.set()
    other.join(130)

    print("\n| file | size | answer (s) | report |\n|---|---:|---:|---|")
    for name, size, seconds, rid in uploads:
        report = reports.get(rid, {})
        error = (report.get("errors") or [{}])[0]
        what = report.get("status", "?") + (f" ({error.get('code')})" if error.get("code") else "")
        print(f"| {name} | {size / 1e6:.2f} MB | {seconds:.1f} | {what} |")
    biggest_role = max(sampler.peaks, key=sampler.peaks.get)
    print("\n| process | peak RSS |\n|---|---:|")
    for role, rss in sorted(sampler.peaks.items(), key=lambda item: -item[1]):
        print(f"| {role} | {rss / 2**20:.0f} MiB |")
    times = sorted(other.times)
    print(
        f"\nbiggest process: {biggest_role}, {sampler.peaks[biggest_role] / 2**20:.0f} MiB; "
        f"slowest upload answer: {max(u[2] for u in uploads):.1f} s; "
        f"other user: {len(times)} requests, median {times[len(times) // 2]:.2f} s, "
        f"longest wait {times[-1]:.2f} s, {other.failures} failed"
    )


if __name__ == "__main__":
    main()
