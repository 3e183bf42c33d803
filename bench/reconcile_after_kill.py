"""Search and database after repeated kill -9 during a burst of creations (issue #11, point 8).

Starts gunicorn (gthread, as `make run`) on a port of its own against the test
configuration, fires concurrent package_create calls, kills the whole server
with SIGKILL in the middle of the burst, restarts it, and repeats. Then it
counts where Solr and PostgreSQL disagree, runs the reconciliation, and counts
again.

    MEL_TEST_DB=ckan_bench scripts/test.sh --co -q >/dev/null   # creates the database
    CKAN_INI=test.ini CKAN_SQLALCHEMY_URL=… .venv/bin/python bench/reconcile_after_kill.py \
        --port 5150 --rounds 5 --burst 40

Prints one JSON line. The environment is that of scripts/test.sh (use_db).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def _app_context():
    from ckan.cli import CKANConfigLoader
    from ckan.config.middleware import make_app

    app = make_app(CKANConfigLoader(os.environ.get("CKAN_INI", "test.ini")).get_config())
    return app._wsgi_app.test_request_context() if hasattr(app, "_wsgi_app") else app.test_request_context()


def _setup() -> tuple[str, str]:
    import ckan.plugins.toolkit as tk

    site_user = tk.get_action("get_site_user")({"ignore_auth": True}, {})
    context = {"user": site_user["name"]}
    name = "bench-kill-org"
    try:
        org = tk.get_action("organization_show")(dict(context), {"id": name})
    except tk.ObjectNotFound:
        org = tk.get_action("organization_create")(dict(context), {"name": name, "title": "Bench"})
    token = tk.get_action("api_token_create")(dict(context), {"user": site_user["name"], "name": "bench"})
    return org["id"], token["token"]


def _start(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            str(REPO / "scripts/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "ckanext.mel.wsgi:application",
        ],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(240):
        try:
            requests.get(f"http://127.0.0.1:{port}/api/3/action/status_show", timeout=2)
            return server
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit("the server did not start")


def _burst(port: int, org_id: str, token: str, round_: int, size: int) -> list[int | None]:
    def create(i: int) -> int | None:
        try:
            return requests.post(
                f"http://127.0.0.1:{port}/api/3/action/package_create",
                json={
                    "name": f"kill-{round_}-{i}",
                    "title": f"Kill {round_} {i}",
                    "notes": "Bench",
                    "owner_org": org_id,
                },
                headers={"Authorization": token},
                timeout=60,
            ).status_code
        except requests.RequestException:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(create, range(size)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5150)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=40)
    args = parser.parse_args()

    with _app_context():
        org_id, token = _setup()
    statuses: list[int | None] = []
    for round_ in range(args.rounds):
        server = _start(args.port)
        results: list[int | None] = []
        thread = threading.Thread(
            target=lambda r=round_, out=results: out.extend(_burst(args.port, org_id, token, r, args.burst))
        )
        thread.start()
        time.sleep(random.uniform(1.0, 3.0))  # well inside the burst
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        thread.join()
        statuses.extend(results)

    from ckanext.mel import reconcile

    with _app_context():
        before = reconcile.reconcile(dry_run=True)
        started = time.perf_counter()
        fixed = reconcile.reconcile()
        seconds = time.perf_counter() - started
        after = reconcile.reconcile(dry_run=True)
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "requests": len(statuses),
                "created_200": statuses.count(200),
                "cut_off": statuses.count(None),
                "before": {k: len(getattr(before, k)) for k in ("orphans", "missing", "stale")},
                "fixed": {k: len(getattr(fixed, k)) for k in ("orphans", "missing", "stale", "failed")},
                "after": {k: len(getattr(after, k)) for k in ("orphans", "missing", "stale")},
                "database": after.database,
                "indexed": after.indexed,
                "reconcile_seconds": round(seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
