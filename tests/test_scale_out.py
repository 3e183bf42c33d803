"""Scale-out: several app servers share PostgreSQL, Solr and Redis. Two real
gunicorn servers (the production server of `make run`, its settings file) run
on the test configuration; the quota holds when agents hit both at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from ckan import model

from tests.helpers import api_token

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("clean_db", "clean_index")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_servers(tmp_path) -> Iterator[list[str]]:
    """Two gunicorn app servers (one worker of four threads each) on the test database."""
    ini = tmp_path / "test.ini"
    ini.write_text(
        (REPO / "test.ini").read_text().replace("config:portal.ini", f"config:{REPO / 'portal.ini'}")
    )
    env = dict(os.environ, CKAN_INI=str(ini))
    gunicorn = Path(sys.executable).parent / "gunicorn"
    servers, urls = [], []
    for _ in range(2):
        port = _free_port()
        servers.append(
            subprocess.Popen(
                [
                    gunicorn,
                    "--config",
                    REPO / "scripts" / "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "ckanext.mel.wsgi:application",
                ],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=open(tmp_path / f"{port}.log", "w"),
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 180
        for url, server in zip(urls, servers, strict=True):
            while True:
                assert server.poll() is None, (tmp_path / f"{url.rsplit(':', 1)[1]}.log").read_text()[-2000:]
                try:
                    if requests.get(f"{url}/api/3/action/status_show", timeout=30).ok:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass
                assert time.monotonic() < deadline, f"{url} did not start"
                time.sleep(0.5)
        # Each worker warmed its feeds before serving (gunicorn.conf.py's post_worker_init).
        for log in tmp_path.glob("*.log"):
            assert "Warming up the feeds failed" not in log.read_text()
        yield urls
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def test_the_quota_holds_with_agents_on_two_app_servers_at_once(app_servers, enrolled_commune):
    model.Session.commit()
    token = api_token(enrolled_commune["editor"]["name"])

    def create(i: int) -> requests.Response:
        return requests.post(
            f"{app_servers[i % 2]}/api/3/action/package_create",
            json={
                "name": f"scale-out-{i}",
                "title": f"Jeu {i}",
                "notes": "Deux serveurs",
                "owner_org": enrolled_commune["id"],
            },
            headers={"Authorization": token},
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(create, range(16)))

    # Half the requests went to each server; every one was answered with a creation or a refusal.
    assert {r.url.rsplit("/api", 1)[0] for r in responses} == set(app_servers)
    assert sorted(r.status_code for r in responses) == [200] * 5 + [409] * 11
    model.Session.remove()
    count = (
        model.Session.query(model.Package)
        .filter(model.Package.owner_org == enrolled_commune["id"], model.Package.state != "deleted")
        .count()
    )
    assert count == 5
