"""ckanext-mel against a stock CKAN, side by side on the same services (`make bench`).

The stock configuration is what a CKAN site gets from the same extensions
without this one: CKAN with ckanext-scheming, ckanext-spatial and ckanext-dcat's
`dcat_ap_full.yaml` schema and `euro_dcat_ap_3` profile. Each portal has its own
database, Redis database, storage and Solr site_id, and its own gunicorn on
127.0.0.1. Both get the same organisations and the same datasets, then each
measurement alternates between them (mel, stock, mel, stock...) and reports the
medians and the ratio mel ÷ stock. Usage (scripts/bench.sh sets the environment):

    python bench/feeds_vs_stock.py [--datasets 500] [--repeat 15] [--harvest 0] [--keep]

--harvest N also loads N datasets in all (100 pages of 100 for 10,000) and
times a full harvest of each catalogue, following hydra:next as data.gouv.fr does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import statistics
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from bench_ini import LOGGING
from rdflib import Graph, URIRef

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("VENV", REPO / ".venv"))
DATA = Path(os.environ.get("MEL_DATA", REPO / ".data")) / "bench"
PG_PORT = os.environ.get("MEL_PG_PORT", "5439")
REDIS_PORT = os.environ.get("MEL_REDIS_PORT", "6390")
SOLR_URL = os.environ.get("CKAN_SOLR_URL", "http://127.0.0.1:8983/solr/ckan")
HYDRA_NEXT = URIRef("http://www.w3.org/ns/hydra/core#next")
DCAT_DATASET = URIRef("http://www.w3.org/ns/dcat#Dataset")
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
WORKER_QUEUES = ("default", "mel_quality")  # those the product's job worker serves here
ONLY: list[str] = []  # --only: the rows to time (all when empty)
# In the names of the datasets the measured creations make: a later run on the same databases
# would otherwise be refused its names.
RUN = time.strftime("%Y%m%d%H%M%S")

WORDS = (
    "équipements publics population société écoles crèches voirie stationnement vélo "
    "déchets collecte parcs jardins culture bibliothèques sport piscines élections budget "
    "subventions marchés associations eau assainissement éclairage arbres bruit air"
).split()
# Valid against scdl-prenoms (a first name is letters only): the upload row times a valid file,
# and says so if the product finds it is not.
LETTERS = string.ascii_lowercase
CSV = "COMMUNE_NOM,COLL_INSEE,ENFANT_SEXE,ENFANT_PRENOM,NOMBRE_OCCURRENCES,ANNEE\n" + "".join(
    f"Lille,59350,{'F' if i % 2 else 'M'},Prénom{LETTERS[i // 26]}{LETTERS[i % 26]},{i % 40 + 1},2024\n"
    for i in range(200)
)

STOCK_SETTINGS = """\
ckan.plugins = activity scheming_datasets dcat spatial_metadata spatial_query
scheming.dataset_schemas = ckanext.dcat.schemas:dcat_ap_full.yaml
scheming.presets = ckanext.scheming:presets.json ckanext.dcat.schemas:presets.yaml
scheming.dataset_fallback = false
ckanext.dcat.rdf.profiles = euro_dcat_ap_3
ckanext.dcat.enable_content_negotiation = true
ckanext.spatial.search_backend = solr-spatial-field
ckan.locale_default = fr
ckan.locales_offered = fr en
ckan.uploads_enabled = true
ckan.max_resource_size = 100
ckan.auth.create_unowned_dataset = false
ckan.auth.create_dataset_if_not_in_organization = false
"""


@dataclass
class Portal:
    name: str  # mel or stock
    port: int
    redis_db: int
    processes: list[subprocess.Popen] = field(default_factory=list)
    token: str = ""
    editor_token: str = ""
    organisations: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ini(self) -> Path:
        return DATA / f"{self.name}.ini"

    @property
    def site_id(self) -> str:
        return f"{self.name}-bench"

    def redis(self) -> Any:
        """Its Redis database (jobs, feed cache) on the shared server."""
        import redis

        return redis.Redis(port=int(REDIS_PORT), db=self.redis_db)

    @property
    def database(self) -> str:
        return f"{self.name}_bench{os.environ.get('DB_SUFFIX', '')}"

    def ckan(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(VENV / "bin" / "ckan"), "-c", str(self.ini), *args],
            capture_output=True,
            text=True,
            env=_clean_env(),
        )
        if check and done.returncode != 0:
            sys.exit(f"ckan {' '.join(args)} failed on {self.name}:\n{done.stderr[-3000:]}")
        return done.stdout

    def action(self, name: str, /, token: str | None = None, files: Any = None, **data: Any) -> Any:
        headers = {"Authorization": token or self.token}
        if files:
            response = requests.post(
                f"{self.url}/api/3/action/{name}", data=data, files=files, headers=headers
            )
        else:
            response = requests.post(f"{self.url}/api/3/action/{name}", json=data, headers=headers)
        body = response.json()
        if not body.get("success"):
            raise RuntimeError(
                f"{self.name} {name}: {json.dumps(body.get('error'), ensure_ascii=False)[:500]}"
            )
        return body["result"]


def _clean_env() -> dict[str, str]:
    """The environment without CKAN_* overrides: each portal reads its own ini only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CKAN_")}
    env["CKAN_SOLR_URL"] = SOLR_URL
    return env


def write_ini(portal: Portal) -> None:
    secret = secrets.token_urlsafe(24)
    settings = (
        f"use = config:{REPO / 'portal.ini'}\n"
        if portal.name == "mel"
        else "use = egg:ckan\n" + STOCK_SETTINGS
    )
    portal.ini.write_text(
        f"""[DEFAULT]
debug = false

[app:main]
{settings}
ckan.site_url = {portal.url}
ckan.site_id = {portal.site_id}
sqlalchemy.url = postgresql://ckan:ckan@127.0.0.1:{PG_PORT}/{portal.database}
ckan.datastore.write_url = postgresql://ckan:ckan@127.0.0.1:{PG_PORT}/{portal.database}_datastore
ckan.datastore.read_url = postgresql://ckan_ro:ckan_ro@127.0.0.1:{PG_PORT}/{portal.database}_datastore
solr_url = {SOLR_URL}
ckan.redis.url = redis://127.0.0.1:{REDIS_PORT}/{portal.redis_db}
ckan.storage_path = {DATA / ("storage-" + portal.name)}
SECRET_KEY = {secret}
api_token.jwt.encode.secret = string:{secret}
api_token.jwt.decode.secret = string:{secret}
smtp.server = localhost:6675
smtp.mail_from = bench@localhost

{LOGGING}
"""
    )


def refuse_busy_port(portal: Portal) -> None:
    """A portal left by --keep would answer with its old settings (and refuse the new API tokens)."""
    try:
        requests.get(portal.url, timeout=2)
    except requests.RequestException:
        return
    sys.exit(f"a server already answers on {portal.url} (one left by --keep?): stop it first")


def start(portal: Portal) -> None:
    """gunicorn as `make run` serves (gthread), one worker so that requests are timed alone;
    the product's job worker beside it (validation, quality scores)."""
    log = open(DATA / f"{portal.name}.log", "a")  # noqa: SIM115 - lives as long as the server
    env = {**_clean_env(), "CKAN_INI": str(portal.ini)}
    server = subprocess.Popen(
        [
            str(VENV / "bin" / "gunicorn"),
            "--config",
            str(REPO / "scripts" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{portal.port}",
            "--workers",
            "1",
            "--threads",
            "2",
            "--max-requests",
            "0",
            "--timeout",
            "300",
            "ckanext.mel.wsgi:application",
        ],
        stdout=log,
        stderr=log,
        env=env,
        cwd=REPO,
    )
    portal.processes.append(server)
    if portal.name == "mel":
        worker = subprocess.Popen(
            [str(VENV / "bin" / "ckan"), "-c", str(portal.ini), "jobs", "worker", *WORKER_QUEUES],
            stdout=log,
            stderr=log,
            env=env,
        )
        portal.processes.append(worker)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the {portal.name} portal did not start: see {DATA / (portal.name + '.log')}")
        try:
            if requests.get(f"{portal.url}/api/3/action/status_show", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    sys.exit(f"the {portal.name} portal did not answer within 180 s")


def stop(portal: Portal) -> None:
    for process in portal.processes:
        process.send_signal(signal.SIGTERM)
    for process in portal.processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    portal.processes.clear()


def prepare(portal: Portal) -> None:
    """Migrated database, a sysadmin and an editor with their API tokens, the organisations."""
    write_ini(portal)
    portal.ckan("db", "upgrade")
    if portal.name == "mel":
        permissions = portal.ckan("datastore", "set-permissions")
        subprocess.run(
            [str(REPO / "scripts" / "services.sh"), "psql", f"{portal.database}_datastore"],
            input=permissions,
            text=True,
            check=True,
            capture_output=True,
        )
    for user in ("bench-admin", "bench-editor"):
        portal.ckan(
            "user", "add", user, f"email={user}@example.org", "password=bench-password-1234", check=False
        )
    portal.ckan("sysadmin", "add", "bench-admin")
    portal.token = (
        portal.ckan("user", "token", "add", "bench-admin", "bench").strip().splitlines()[-1].strip()
    )
    portal.editor_token = (
        portal.ckan("user", "token", "add", "bench-editor", "bench").strip().splitlines()[-1]
    )
    portal.editor_token = portal.editor_token.strip()


def load_organisations(mel: Portal, stock: Portal, per_commune: int, extra: int) -> None:
    """The MEL's 95 communes in the product (its CLI), the same names and titles in stock."""
    mel.ckan("mel", "communes", "load")
    organisations = mel.action("organization_list", all_fields=True, limit=1000)
    for organisation in organisations:
        name = organisation["name"]
        if organisation.get("insee_code") or mel.action("organization_show", id=name).get("insee_code"):
            try:
                mel.action("mel_enrolment_create", organization=name)
            except RuntimeError:
                pass  # already enrolled
            # The measured creations (create, upload, first view) all go to the first commune,
            # on top of those of earlier runs (the bench's databases are kept between runs).
            held = mel.action(
                "package_search", fq=f'owner_org:"{organisation["id"]}"', rows=0, include_private=True
            )["count"]
            maximum = max(per_commune, held) + extra
            mel.action("mel_quota_set", organization=name, maximum=maximum, reason="bench")
        try:
            stock.action("organization_create", name=name, title=organisation["title"])
        except RuntimeError:
            pass  # already there
    for portal in (mel, stock):
        portal.organisations = sorted(o["name"] for o in organisations)
        portal.action(
            "organization_member_create", id=portal.organisations[0], username="bench-editor", role="editor"
        )


def dataset_dict(number: int, organisation: str) -> dict[str, Any]:
    rng = random.Random(number)
    words = rng.sample(WORDS, 4)
    return {
        "name": f"bench-{number:05d}",
        "title": f"{words[0].capitalize()} et {words[1]} ({number})",
        "notes": f"Données sur {words[0]}, {words[1]} et {words[2]} de la commune, mises à jour chaque année",
        "tags": [{"name": w} for w in words[:3]],
        "owner_org": organisation,
        "license_id": "odc-odbl",
        "resources": [
            {
                "name": f"{words[0]}.csv",
                "url": f"https://example.org/{number}/{words[0]}.csv",
                "format": "CSV",
            },
            {
                "name": f"{words[1]}.json",
                "url": f"https://example.org/{number}/{words[1]}.json",
                "format": "JSON",
            },
        ],
    }


def load_datasets(portals: list[Portal], total: int) -> None:
    for portal in portals:
        existing = len(_names(portal))
        for number in range(existing, total):
            organisation = portal.organisations[number % len(portal.organisations)]
            portal.action("package_create", **dataset_dict(number, organisation))
            if number % 500 == 499:
                print(f"  {portal.name}: {number + 1} datasets", flush=True)
        portal.datasets = _names(portal)[:total]


def copy_datasets(portals: list[Portal], total: int) -> None:
    """Up to `total` datasets in each portal, copied in SQL from those loaded through the API,
    then indexed: the full-harvest catalogue in minutes where the API would take hours. Each
    copy is its template's metadata, tags, files and organisation under a new id, name
    (`bench-NNNNN`, commune prefix kept) and dates; only the search index is built by CKAN
    (`search-index rebuild -o`, both portals at once). The feeds read only that: the package,
    its tags, resources and organisation; the copies have no file checked against a data model
    (their templates link to files), so no validation report or consolidation row to copy."""
    import psycopg2
    import psycopg2.extras

    rebuilds = []
    for portal in portals:
        connection = psycopg2.connect(
            host="127.0.0.1", port=PG_PORT, user="ckan", password="ckan", dbname=portal.database
        )
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, name FROM package WHERE state = 'active' AND name ~ '(^|-)bench-[0-9]{5}$'"
            )
            loaded = {int(name[-5:]): id_ for id_, name in cursor.fetchall()}
            templates = [loaded[n] for n in sorted(loaded)]
            wanted = [n for n in range(total) if n not in loaded]
            if not wanted:
                continue
            cursor.execute("CREATE TEMP TABLE copy_map (template text, id text, number int) ON COMMIT DROP")
            psycopg2.extras.execute_values(
                cursor,
                "INSERT INTO copy_map VALUES %s",
                [(templates[n % len(templates)], str(uuid.uuid4()), n) for n in wanted],
                page_size=5000,
            )
            # Distinct dates: the catalogue pages by metadata_modified, ties would shuffle pages.
            replaced = {
                "id": "m.id",
                "name": "regexp_replace(t.name, '[0-9]{5}$', lpad(m.number::text, 5, '0'))",
                "metadata_created": "timestamp '2026-01-01' + m.number * interval '1 second'",
                "metadata_modified": "timestamp '2026-01-01' + m.number * interval '1 second'",
            }
            _copy_rows(cursor, "package", "id", replaced)
            for table in _tables(cursor, "package_tag", "package_extra", "resource"):
                _copy_rows(
                    cursor, table, "package_id", {"id": "gen_random_uuid()::text", "package_id": "m.id"}
                )
            _copy_rows(
                cursor,
                "member",
                "table_id",
                {"id": "gen_random_uuid()::text", "table_id": "m.id"},
                "t.table_name = 'package'",
            )
        connection.close()
        print(f"  {portal.name}: {len(wanted)} datasets copied, indexing", flush=True)
        rebuilds.append(
            subprocess.Popen(
                [str(VENV / "bin" / "ckan"), "-c", str(portal.ini), "search-index", "rebuild", "-o", "-q"],
                env=_clean_env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for rebuild in rebuilds:
        _out, errors = rebuild.communicate()
        if rebuild.returncode != 0:
            sys.exit(f"search-index rebuild failed:\n{errors[-3000:]}")
    for portal in portals:
        portal.datasets = _names(portal)[:total]


def _tables(cursor: Any, *names: str) -> list[str]:
    """Those of `names` the database has (CKAN 2.12 keeps dataset extras in a package column)."""
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name = ANY(%s) ORDER BY table_name",
        (list(names),),
    )
    return [row[0] for row in cursor.fetchall()]


def _copy_rows(cursor: Any, table: str, key: str, replaced: dict[str, str], where: str = "true") -> None:
    """Each row of `table` whose `key` is a template's, once per copy, with `replaced` columns."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s ORDER BY ordinal_position",
        (table,),
    )
    columns = [row[0] for row in cursor.fetchall()]
    values = ", ".join(replaced.get(column, f't."{column}"') for column in columns)
    quoted = ", ".join(f'"{column}"' for column in columns)
    cursor.execute(
        f'INSERT INTO "{table}" ({quoted}) SELECT {values} FROM "{table}" t '  # noqa: S608 - names from the schema
        f'JOIN copy_map m ON t."{key}" = m.template WHERE {where}'
    )


def _names(portal: Portal) -> list[str]:
    """The loaded datasets' names in load order (the product prefixes them with the commune's)."""
    found: dict[int, str] = {}
    start = 0
    while True:
        page = portal.action("package_search", rows=1000, start=start, fl=["name"], include_private=True)
        start += len(page["results"])
        for result in page["results"]:
            match = re.search(r"(?:^|-)bench-(\d{5})$", result["name"])
            if match:
                found[int(match[1])] = result["name"]
        if len(page["results"]) < 1000:
            return [found[number] for number in sorted(found)]


# Measuring


def timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def get(
    portal: Portal, path: str, token: str | None = None, expect: int = 200, client: Any = requests
) -> Callable[[], None]:
    """A GET on a new connection, or on `client`'s kept-alive one (a requests.Session)."""

    def call() -> None:
        headers = {"Authorization": token} if token else {}
        response = client.get(portal.url + path, headers=headers, timeout=300)
        if response.status_code != expect:
            raise RuntimeError(f"{portal.name} {path}: {response.status_code}")
        response.content  # noqa: B018 - read the whole body

    return call


@dataclass
class Row:
    what: str
    mel: list[float]
    stock: list[float]

    def line(self) -> str:
        m, s = statistics.median(self.mel), statistics.median(self.stock)
        return f"| {self.what} | {m / s:.2f} | {m:.0f} | {s:.0f} | {len(self.mel)} |"


def interleaved(
    what: str,
    portals: list[Portal],
    repeat: int,
    make: Callable[[Portal, int], Callable[[], Any]],
    warm: bool,
) -> Row | None:
    if ONLY and not any(text in what for text in ONLY):
        return None
    times: dict[str, list[float]] = {p.name: [] for p in portals}
    if warm:
        # Every request of the row once: a warm row must not meet a dataset for the first time.
        for portal in portals:
            for i in range(-1, repeat):
                make(portal, i)()
    for i in range(repeat):
        for portal in portals if i % 2 == 0 else portals[::-1]:
            times[portal.name].append(timed(make(portal, i)))
    row = Row(what, times["mel"], times["stock"])
    print(row.line(), flush=True)
    return row


def cold_catalogue(portals: list[Portal], repeat: int) -> Row:
    """The first catalogue request after a start (the app loaded, nothing of the feed warm)."""
    times: dict[str, list[float]] = {p.name: [] for p in portals}
    for i in range(repeat):
        for portal in portals if i % 2 == 0 else portals[::-1]:
            stop(portal)
            flush_feed_cache(portal)
            start(portal)
            times[portal.name].append(timed(get(portal, "/catalog.ttl")))
    row = Row("catalogue, first request after start", times["mel"], times["stock"])
    print(row.line(), flush=True)
    return row


def drop_loading_backlog(portal: Portal) -> None:
    """Forget the jobs that loading queued (a quality score per dataset loaded): left in the
    queues, they would keep the product's job worker busy beside the product's server through
    the whole measurement, which stock's has not to share. Jobs queued by the measured requests
    (create, upload, first view) run as in production."""
    connection = portal.redis()
    for key in connection.scan_iter(f"rq:queue:ckan:{portal.site_id}:*"):
        connection.delete(key)


def wait_for_jobs(portal: Portal, patience: float = 30) -> None:
    """Until the job worker (the product's only) has nothing queued, scheduled or running."""
    connection = portal.redis()
    queues = [f"ckan:{portal.site_id}:{queue}" for queue in WORKER_QUEUES]
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not any(
            connection.llen(f"rq:queue:{q}")
            or connection.zcard(f"rq:wip:{q}")
            or connection.zcard(f"rq:scheduled:{q}")
            for q in queues
        ):
            return
        time.sleep(0.05)


def flush_feed_cache(portal: Portal) -> None:
    """Forget the rendered feeds (not the quality scores): a cold feed is built anew."""
    connection = portal.redis()
    for key in connection.scan_iter(f"mel:feeds:{portal.site_id}:catalogue:*"):
        connection.delete(key)
    for key in connection.scan_iter(f"mel:feeds:{portal.site_id}:dataset:*"):
        connection.delete(key)


def harvest(portal: Portal) -> tuple[float, float, int, int]:
    """Every page of the catalogue, parsed, following hydra:next: (ms in all, ms waiting for the
    portal's answers, pages, datasets). The rest is the harvester's own parsing."""
    start_time, waiting = time.perf_counter(), 0.0
    url, pages, seen = f"{portal.url}/catalog.ttl", 0, set()
    while url:
        asked = time.perf_counter()
        response = requests.get(url, timeout=300)
        response.raise_for_status()
        waiting += time.perf_counter() - asked
        graph = Graph().parse(data=response.content, format="turtle")
        seen |= set(graph.subjects(RDF_TYPE, DCAT_DATASET))
        following = next(graph.objects(None, HYDRA_NEXT), None)
        url = str(following) if following is not None else ""
        pages += 1
    return (time.perf_counter() - start_time) * 1000, waiting * 1000, pages, len(seen)


def measure(portals: list[Portal], repeat: int) -> list[Row | None]:
    mel, _stock = portals
    rows = []
    rng = random.Random(1)
    picks = [rng.randrange(len(mel.datasets)) for _ in range(repeat)]

    def pick(portal: Portal, i: int) -> str:
        """The same dataset in both portals (the product prefixes names with the commune's)."""
        return portal.datasets[0 if i < 0 else picks[i]]

    rows.append(
        interleaved(
            "`/catalog.ttl` page of 100, warm", portals, repeat, lambda p, i: get(p, "/catalog.ttl"), True
        )
    )
    rows.append(
        interleaved(
            "`/catalog.jsonld` page, warm", portals, repeat, lambda p, i: get(p, "/catalog.jsonld"), True
        )
    )
    for extension in ("ttl", "jsonld"):
        rows.append(
            interleaved(
                f"`/catalog.{extension}?page=2`, built anew (feed cache emptied before each run)",
                portals,
                repeat,
                lambda p, i, extension=extension: _cold(p, f"/catalog.{extension}?page=2"),
                False,
            )
        )
    rows.append(
        interleaved(
            "`/dataset/<name>.ttl`", portals, repeat, lambda p, i: get(p, f"/dataset/{pick(p, i)}.ttl"), True
        )
    )
    # A client that keeps its connection open (an HTTP session) pays no connection set-up
    # per dataset: each portal's own session.
    sessions = {portal.name: requests.Session() for portal in portals}
    rows.append(
        interleaved(
            "`/dataset/<name>.ttl`, one kept-alive connection",
            portals,
            repeat,
            lambda p, i: get(p, f"/dataset/{pick(p, i)}.ttl", client=sessions[p.name]),
            True,
        )
    )
    rows.append(
        interleaved(
            "`/dataset/<name>.ttl`, built anew",
            portals,
            repeat,
            lambda p, i: _cold(p, f"/dataset/{pick(p, i)}.ttl"),
            False,
        )
    )
    rows.append(
        interleaved(
            "`package_show`",
            portals,
            repeat,
            lambda p, i: get(p, f"/api/3/action/package_show?id={pick(p, i)}"),
            True,
        )
    )
    rows.append(
        interleaved(
            "`package_search` (q, 20 rows)",
            portals,
            repeat,
            lambda p, i: get(p, f"/api/3/action/package_search?q={WORDS[i % len(WORDS)]}&rows=20"),
            True,
        )
    )
    rows.append(
        interleaved(
            "dataset page (anonymous)", portals, repeat, lambda p, i: get(p, f"/dataset/{pick(p, i)}"), True
        )
    )
    rows.append(
        interleaved("search page `/dataset/`", portals, repeat, lambda p, i: get(p, "/dataset/"), True)
    )
    rows.append(interleaved("home page", portals, repeat, lambda p, i: get(p, "/"), True))

    counter = iter(range(10**6))

    def create(portal: Portal, i: int) -> Callable[[], Any]:
        number = 900_000 + next(counter)
        data = dataset_dict(number, portal.organisations[0])
        data["name"] = f"bench-new-{portal.name}-{RUN}-{number}"
        # An agent fills a form between two datasets: the jobs the last creation queued (its
        # quality score, on the product's worker) are done by then, on either portal.
        for each in portals:
            wait_for_jobs(each)
        return lambda: portal.action("package_create", **data)

    rows.append(interleaved("`package_create`", portals, repeat, create, False))

    uploaded: dict[str, list[str]] = {p.name: [] for p in portals}

    def upload(portal: Portal, i: int) -> Callable[[], Any]:
        number = 950_000 + next(counter)
        data = dataset_dict(number, portal.organisations[0])
        data.update(name=f"bench-upload-{portal.name}-{RUN}-{number}", resources=[])
        if portal.name == "mel":
            data["data_model"] = "scdl-prenoms"
        dataset = portal.action("package_create", **data)
        # An agent fills the file's form after saving the dataset: the background jobs before it
        # (the creation's quality score, the last upload's DataStore load) are done by then.
        for each in portals:
            wait_for_jobs(each)

        def create_resource() -> None:
            resource = portal.action(
                "resource_create",
                package_id=dataset["id"],
                name="prenoms.csv",
                format="CSV",
                files={"upload": ("prenoms.csv", CSV.encode(), "text/csv")},
            )
            uploaded[portal.name].append(resource["id"])

        return create_resource

    rows.append(interleaved("upload of a valid CSV (`resource_create`)", portals, repeat, upload, False))
    for portal in portals:
        if portal.name == "mel":  # what the row times is the upload of a file found valid
            for resource_id in uploaded[portal.name]:
                status = portal.action("resource_show", id=resource_id).get("validation_status")
                if status != "success":
                    raise SystemExit(f"the upload row's CSV was not found valid ({status}): {resource_id}")

    def first_view(portal: Portal, i: int) -> Callable[[], Any]:
        number = 970_000 + next(counter)
        data = dataset_dict(number, portal.organisations[0])
        data["name"] = f"bench-view-{portal.name}-{RUN}-{number}"
        created = portal.action("package_create", token=portal.editor_token, **data)
        time.sleep(1.5)  # an editor looks at the page a moment after saving it
        # By the name the portal gave it: the product prefixes it with the commune's.
        return get(portal, f"/dataset/{created['name']}", token=portal.editor_token)

    rows.append(interleaved("a dataset page, first view by its editor", portals, repeat, first_view, False))
    return rows


def _cold(portal: Portal, path: str) -> Callable[[], None]:
    """A feed no one asked for since the last change: the cost of building it (cache missed).
    The cache is emptied here, before the timed call, so that the timing is the request's alone."""
    flush_feed_cache(portal)
    return get(portal, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cold", type=int, default=3, help="restarts for the first-request measurement")
    parser.add_argument("--harvest", type=int, default=0, help="datasets for the full-harvest measurement")
    parser.add_argument("--keep", action="store_true", help="leave both portals running at the end")
    parser.add_argument(
        "--only", action="append", default=[], help="time only the rows whose name holds this text"
    )
    args = parser.parse_args()
    ONLY.extend(args.only)

    DATA.mkdir(parents=True, exist_ok=True)
    mel, stock = Portal("mel", 5250, 10), Portal("stock", 5251, 11)
    portals = [mel, stock]
    for portal in portals:
        refuse_busy_port(portal)
    try:
        for portal in portals:
            prepare(portal)
            start(portal)
        print(f"loading {args.datasets} datasets into both portals", flush=True)
        per_commune = max(args.datasets, args.harvest) // 90 + 5
        load_organisations(mel, stock, per_commune, extra=3 * (args.repeat + 2) + 10)
        load_datasets(portals, args.datasets)
        drop_loading_backlog(mel)
        version = requests.get(f"{mel.url}/api/3/action/status_show").json()["result"]["ckan_version"]
        print(f"\nCKAN {version}, {args.datasets} datasets, medians of {args.repeat} interleaved runs (ms)\n")
        print("| what | ratio mel ÷ stock | mel (ms) | stock (ms) | runs |")
        print("|---|---|---|---|---|")
        measure(portals, args.repeat)  # each row is printed as it is measured
        if not ONLY or any(text in "catalogue, first request after start" for text in ONLY):
            cold_catalogue(portals, args.cold)
        if args.harvest:
            print(f"\ncopying datasets up to {args.harvest} for the full harvest", flush=True)
            copy_datasets(portals, args.harvest)
            drop_loading_backlog(mel)
            for label in ("first harvest (cache cold)", "second harvest (warm)"):
                results = {}
                for portal in portals:
                    if label.startswith("first"):
                        flush_feed_cache(portal)
                    results[portal.name] = harvest(portal)
                m, s = results["mel"], results["stock"]
                print(
                    f"full harvest of {args.harvest} datasets, {label}: mel {m[0] / 1000:.1f} s "
                    f"({m[2]} pages, {m[3]} datasets), stock {s[0] / 1000:.1f} s ({s[2]} pages, "
                    f"{s[3]} datasets), ratio {m[0] / s[0]:.2f}; waiting for the pages: mel "
                    f"{m[1] / 1000:.1f} s, stock {s[1] / 1000:.1f} s, ratio {m[1] / s[1]:.2f}",
                    flush=True,
                )
    finally:
        if not args.keep:
            for portal in portals:
                stop(portal)


if __name__ == "__main__":
    main()
