"""The DCAT feeds: the portal's catalogue, each commune's, and each dataset's.

The portal serves ckanext-dcat's feed URLs itself (`/catalog.<format>`,
`/dataset/<id>.<format>` and their content negotiation, see `install`), next to
its own `/organization/<name>/catalog.<format>`: a commune's catalogue with
paging links that stay on that URL, so that each commune can be harvested under
its own name on data.gouv.fr.

Feeds are public documents: they are built as an anonymous visitor sees the
portal, whoever asks, from public active datasets only. The request's `fq` is a
filter of its own, intersected with the portal's (a commune's feed, the public
and active datasets), never concatenated into them, so no text can widen a feed.
Parameters are checked before any search: bad ones get a 400 that says why.

Each rendered feed is cached (feed_cache.py) under a key that names everything
it is made of, so a warm page costs a few index lookups and never goes stale.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, quote

import ckan.plugins.toolkit as tk
from ckan import model
from ckan.lib.search import SearchError
from dateutil import parser as date_parser
from flask import Blueprint, Flask, Response
from rdflib import URIRef
from sqlalchemy import or_, select

from ckanext.dcat.exceptions import RDFProfileException
from ckanext.dcat.processors import RDFSerializer
from ckanext.dcat.utils import (
    CONTENT_TYPES,
    catalog_uri,
    check_access_header,
    dataset_uri,
    url_to_rdflib_format,
)
from ckanext.mel import communes, feed_cache, feed_writer
from ckanext.mel.profiles import feed_profile_classes
from ckanext.mel.profiles import warm_up as warm_up_publishers

feeds = Blueprint("mel_feeds", __name__)
log = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters of q or fq
SOLR_MAX_START = 2**31 - 1
ANONYMOUS: dict[str, Any] = {"user": "", "auth_user_obj": None}


class FeedParameterError(Exception):
    """A feed parameter a person got wrong: a 400 with this message."""


@dataclass(frozen=True)
class CatalogueRequest:
    format: str
    profiles: tuple[str, ...] | None
    page: int
    q: str | None
    fq: str | None
    modified_since: str | None  # Solr's UTC form
    organization_id: str | None
    path: str  # the feed's own URL path, for the paging links

    def link_parameters(self) -> list[tuple[str, str]]:
        args = tk.request.args
        return [(name, args[name]) for name in ("modified_since", "profiles", "q", "fq") if args.get(name)]


# Parameters


def parse_format(value: str | None) -> str:
    if value not in CONTENT_TYPES:
        tk.abort(404)
    return value  # type: ignore[return-value]


def parse_profiles(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    names = tuple(name.strip() for name in value.split(","))
    known = _registered_profiles()
    unknown = [name for name in names if name not in known]
    if unknown or len(names) > len(known):
        raise FeedParameterError(
            tk._("Unknown RDF profile: {unknown}. Known profiles: {known}.").format(
                unknown=", ".join(unknown) or value, known=", ".join(sorted(known))
            )
        )
    return names


def parse_page(value: str | None, per_page: int) -> int:
    last = SOLR_MAX_START // per_page
    if value is None or value == "":
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= last:
        raise FeedParameterError(tk._("The page must be a whole number from 1 to {last}.").format(last=last))
    return int(value)


def parse_modified_since(value: str | None) -> str | None:
    if not value:
        return None
    try:
        if len(value) > 64 or "\x00" in value:
            raise ValueError(value)
        moment = date_parser.isoparse(value)
    except (ValueError, OverflowError, TypeError):
        raise FeedParameterError(
            tk._("modified_since must be an ISO 8601 date, such as 2025-01-31 or 2025-01-31T08:00:00Z.")
        ) from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            raise FeedParameterError(tk._("modified_since is out of range.")) from None
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def parse_text(name: str, value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > MAX_TEXT or "\x00" in value:
        raise FeedParameterError(
            tk._("{name} must be at most {count} characters, without NUL.").format(name=name, count=MAX_TEXT)
        )
    return value


def per_page() -> int:
    return max(1, int(tk.config.get("ckanext.dcat.datasets_per_page") or 100))


def catalogue_request(_format: str, organization: model.Group | None) -> CatalogueRequest:
    args = tk.request.args
    return CatalogueRequest(
        format=parse_format(_format),
        profiles=parse_profiles(args.get("profiles")),
        page=parse_page(args.get("page"), per_page()),
        q=parse_text("q", args.get("q")),
        fq=parse_text("fq", args.get("fq")),
        modified_since=parse_modified_since(args.get("modified_since")),
        organization_id=organization.id if organization is not None else None,
        path=tk.request.path,
    )


# The catalogue


def _search(request: CatalogueRequest, fields: list[str] | None = None) -> dict[str, Any]:
    rows = per_page()
    filters = ["+dataset_type:dataset"]  # not harvest sources, showcases or reuses, whatever fq asks
    if request.organization_id:
        filters.append(f'+owner_org:"{request.organization_id}"')
    if request.modified_since:
        filters.append(f"metadata_modified:[{request.modified_since} TO NOW]")
    if request.fq:
        filters.append(request.fq)
    search = {
        "q": request.q or "*:*",
        "fq_list": filters,
        "rows": rows,
        "start": rows * (request.page - 1),
        "sort": "metadata_modified desc",
        "include_private": False,
        "include_drafts": False,
    }
    if fields:
        search["fl"] = fields
    try:
        return tk.get_action("package_search")(dict(ANONYMOUS), search)
    except (SearchError, tk.ValidationError):
        raise FeedParameterError(
            tk._("The search in q or fq is not valid: check its brackets, quotes and field names.")
        ) from None


def _catalogue_dates() -> list[Any]:
    """What the catalogue's own triples come from: its first publication and last change."""
    found = []
    for field, sort in (("metadata_modified", "desc"), ("metadata_created", "asc")):
        result = tk.get_action("package_search")(
            {"ignore_auth": True}, {"sort": f"{field} {sort}", "rows": 1, "fl": [field]}
        )
        found += [result["count"], result["results"][0][field] if result["results"] else None]
    return found


def catalogue(request: CatalogueRequest) -> str:
    """The catalogue page, from the cache when nothing it is made of has changed."""
    if not feed_cache.enabled():
        query = _search(request)
        return serialize(request.profiles, request.format, query["results"], _pagination(request, query))
    version = feed_cache.organisations_version()
    parts = {**request.__dict__, "links": request.link_parameters(), "catalogue": _catalogue_dates()}
    listed = _search(request, ["id", "metadata_modified"])
    parts["datasets"] = _stamps(listed["results"])
    parts["count"] = listed["count"]
    cached = feed_cache.get(feed_cache.key("catalogue", parts, version))
    if cached is not None:
        return cached
    query = _search(request)
    text = serialize(request.profiles, request.format, query["results"], _pagination(request, query))
    # Filed under what it was really built from, which may be newer than the first lookup.
    parts["datasets"] = _stamps(query["results"])
    parts["count"] = query["count"]
    feed_cache.put(feed_cache.key("catalogue", parts, version), text)
    return text


def _stamps(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each dataset's id and last change, to the millisecond (Solr's precision, and its form)."""
    stamps = []
    for dataset in datasets:
        moment = datetime.fromisoformat(str(dataset["metadata_modified"]).rstrip("Z"))
        stamps.append((dataset["id"], f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}"))
    return stamps


def _pagination(request: CatalogueRequest, query: dict[str, Any]) -> dict[str, Any]:
    """Hydra paging, as ckanext-dcat gives it, with links that are valid IRIs whatever the query."""
    count = query["count"]
    if count == 0:
        return {}
    rows = per_page()
    base = catalog_uri().rstrip("/") + request.path
    parameters = "".join(
        f"{name}={quote(value, safe=':/,*()!$;@[]')}&" for name, value in request.link_parameters()
    )

    def url(page: int) -> str:
        return f"{base}?{parameters}page={page}"

    last = math.ceil(count / rows) or 1
    info = {"count": count, "items_per_page": rows, "current": url(request.page), "first": url(1)}
    info["last"] = url(last)
    if request.page > 1:
        info["previous"] = url(min(request.page - 1, last))
    if request.page * rows < count:
        info["next"] = url(request.page + 1)
    return info


# Serialising: one serializer per thread and profile list, with a fresh graph per document


class FeedSerializer(RDFSerializer):
    """ckanext-dcat's serializer with its profiles made once per document, not once per dataset.

    ckanext-dcat instantiates every profile for every dataset, and each instance
    asks scheming for the dataset schema (an action call); a page of 100 datasets
    made 200 of them. The graph is a FeedGraph, which writes Turtle and JSON-LD
    itself (feed_writer.py).
    """

    _instances: list[Any] = []

    def new_graph(self) -> None:
        self.g = feed_writer.FeedGraph()
        self._instances = []

    def _profile_instances(self) -> list[Any]:
        # Made again when someone gave the serializer another graph (quality.py does).
        if not self._instances or self._instances[0].g is not self.g:
            self._instances = [
                profile(self.g, compatibility_mode=self.compatibility_mode)
                for profile in feed_profile_classes(self._profiles)
            ]
        return self._instances

    def graph_from_dataset(self, dataset_dict: dict[str, Any]) -> URIRef:
        dataset_ref = URIRef(dataset_uri(dataset_dict))
        for profile in self._profile_instances():
            profile.graph_from_dataset(dataset_dict, dataset_ref)
        return dataset_ref

    def graph_from_catalog(self, catalog_dict: dict[str, Any] | None = None) -> URIRef:
        catalog_ref = URIRef(catalog_uri())
        for profile in self._profile_instances():
            profile.graph_from_catalog(catalog_dict, catalog_ref)
        return catalog_ref


_serializers = threading.local()


def serializer_for(profiles: tuple[str, ...] | None) -> FeedSerializer:
    pool = _serializers.__dict__.setdefault("pool", {})
    serializer = pool.get(profiles)
    if serializer is None:
        serializer = pool[profiles] = FeedSerializer(profiles=list(profiles) if profiles else None)
    serializer.new_graph()
    return serializer


def serialize(
    profiles: tuple[str, ...] | None,
    _format: str,
    datasets: list[dict[str, Any]],
    pagination: dict[str, Any] | None,
) -> str:
    try:
        return serializer_for(profiles).serialize_catalog(
            {}, datasets, _format=_format, pagination_info=pagination
        )
    except RDFProfileException as error:
        raise FeedParameterError(str(error)) from None


def _package(id_or_name: str) -> model.Package | None:
    """model.Package.get in one query instead of two for a name (a warm feed is little more)."""
    Package = model.Package
    query = model.Session.query(Package).filter(or_(Package.id == id_or_name, Package.name == id_or_name))
    found = query.limit(2).all()  # the id's match first, as model.Package.get
    return next((package for package in found if package.id == id_or_name), found[0] if found else None)


def _published(package: Any) -> bool:
    """Whether a dataset (a Package or a row with its columns) has a feed: public, active, a dataset."""
    return package.state == "active" and not package.private and package.type == "dataset"


def _dataset_key(package: Any, _format: str, profiles: tuple[str, ...] | None) -> str:
    version = feed_cache.organisations_version()
    parts = {"id": package.id, "modified": package.metadata_modified, "format": _format, "profiles": profiles}
    return feed_cache.key("dataset", parts, version)


def dataset_document(_id: str, _format: str, profiles: tuple[str, ...] | None) -> str:
    package = _package(_id)
    if package is None or not _published(package):
        return tk.abort(404, tk._("Dataset not found"))
    cache_key = _dataset_key(package, _format, profiles)
    cached = feed_cache.get(cache_key)
    if cached is not None:
        return cached
    dataset_dict = tk.get_action("package_show")(dict(ANONYMOUS), {"id": package.id})
    serializer = serializer_for(profiles)
    serializer.graph_from_dataset(dataset_dict)
    text = serializer.g.serialize(format=url_to_rdflib_format(_format))
    if dataset_dict["metadata_modified"] == package.metadata_modified.isoformat():
        feed_cache.put(cache_key, text)
    return text


def warm_up_worker(app: Flask) -> None:
    """Compute, before a new server process takes its first request, what every process keeps
    for the feeds: the organisations as publishers, the MEL's territory, the profiles, and
    ckanext-dcat's code run once on one dataset (its graph thrown away). Otherwise the first
    visitor would wait for it, and a worker recycled after max_requests would make its next
    harvester wait.

    Nothing is cached that a change could make stale: no document goes to the feed cache.
    Run by the production server in each worker (scripts/gunicorn.conf.py, wsgi.warm_up).
    A failure is logged, never fatal: the worker computes it all on first use instead.
    """
    try:
        with app.test_request_context("/"):
            warm_up_publishers(feed_cache.organisations_version())
            feed_cache.code_fingerprint()
            found = tk.get_action("package_search")(
                dict(ANONYMOUS), {"rows": 1, "fq_list": ["+dataset_type:dataset"], "include_private": False}
            )
            serializer = serializer_for(None)
            for dataset in found["results"]:
                serializer.graph_from_dataset(dataset)
            serializer.new_graph()
    except Exception:
        log.exception("Warming up the feeds failed")
    finally:
        # No request ends here to give the connection back: left open, this thread's
        # transaction would hold its tables' locks (and block a migration) for the worker's life.
        model.Session.remove()


# Views


def _rdf(text: str, _format: str) -> Response:
    return Response(text, content_type=f"{CONTENT_TYPES[_format]}; charset=utf-8")


def _bad_request(error: FeedParameterError) -> Response:
    return tk.abort(400, str(error))


@feeds.route("/organization/<id>/catalog.<_format>")
def organization_catalog(id: str, _format: str) -> Response:
    parse_format(_format)
    organization = model.Group.get(id) or communes.commune_for_insee(id)
    if organization is None or not organization.is_organization or organization.state != "active":
        tk.abort(404, tk._("Organization not found"))
    try:
        return _rdf(catalogue(catalogue_request(_format, organization)), _format)
    except FeedParameterError as error:
        return _bad_request(error)


def portal_catalog(original: Callable[..., Any], _format: str | None = None, **kwargs: Any) -> Any:
    _format = _format or check_access_header()
    if not _format:
        return original(_format=None, **kwargs)
    try:
        return _rdf(catalogue(catalogue_request(_format, None)), _format)
    except FeedParameterError as error:
        return _bad_request(error)


def dataset_feed(original: Callable[..., Any], _id: str, _format: str | None = None, **kwargs: Any) -> Any:
    _format = _format or check_access_header()
    if not _format:
        return original(_id, _format=None, **kwargs)
    parse_format(_format)
    try:
        profiles = parse_profiles(tk.request.args.get("profiles"))
        return _rdf(dataset_document(_id, _format, profiles), _format)
    except FeedParameterError as error:
        return _bad_request(error)


def install(app: Flask) -> None:
    """Serve ckanext-dcat's feed endpoints (their URLs and content negotiation) with the views
    above, and a dataset's feed already in the cache before CKAN's pipeline (CachedDatasetFeeds)."""
    if not hasattr(app, "view_functions"):
        raise RuntimeError("ckanext-mel's middleware must see the Flask app: list mel before others")
    if not isinstance(app.wsgi_app, CachedDatasetFeeds):
        app.wsgi_app = CachedDatasetFeeds(app.wsgi_app)  # type: ignore[method-assign]
    views: dict[str, Callable[..., Any]] = {
        "dcat.read_catalog": portal_catalog,
        "dcat.read_dataset": dataset_feed,
        "dcat.read_dataset_series": dataset_feed,
    }
    for endpoint, view in views.items():
        original = app.view_functions.get(endpoint)
        if original is not None and not getattr(original, "mel_feed", False):
            app.view_functions[endpoint] = _bound(view, original)


def _bound(view: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    def bound(*args: Any, **kwargs: Any) -> Any:
        return view(original, *args, **kwargs)

    bound.mel_feed = True  # type: ignore[attr-defined]
    bound.__name__ = original.__name__
    return bound


@lru_cache(maxsize=1)
def _registered_profiles() -> frozenset[str]:
    return frozenset(point.name for point in entry_points(group="ckan.rdf.profiles"))


# A warm dataset feed without CKAN's request pipeline


_DATASET_FEED = re.compile(r"/dataset/(?P<id>[^/.]+)\.(?P<format>[a-z0-9]+)")
# What makes CKAN answer differently from the anonymous, same-origin visitor whose answer
# the cache holds: a session or API token, a CORS request. (A feed does not depend on the
# interface's language: its key names the site's default one.)
_PERSONAL_HEADERS = ("HTTP_COOKIE", "HTTP_AUTHORIZATION", "HTTP_X_CKAN_API_KEY", "HTTP_ORIGIN")


def _personal(environ: dict[str, Any]) -> bool:
    token_header = "HTTP_" + tk.config.get("apitoken_header_name").upper().replace("-", "_")
    return any(environ.get(header) for header in (*_PERSONAL_HEADERS, token_header))


class CachedDatasetFeeds:
    """WSGI middleware around the Flask app's own: answers `GET /dataset/<id>.<format>` from
    the feed cache when the document is there, without CKAN's request pipeline.

    That pipeline costs about 2.5 ms before any view runs (a query that the app globals are
    fresh, the user, the session), more than the cached document itself. Here: one query
    for the dataset's state and `metadata_modified` (a private, deleted or changed dataset is
    never served from here), the cache lookup under the same key as dataset_document's, and
    the headers CKAN gives an anonymous visitor. Anything else (no document cached, a cookie,
    an API token, a CORS request, content negotiation, a bad parameter, an error) goes on to
    CKAN unchanged, which then answers as it always has.
    """

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        response = self._cached(environ)
        if response is None:
            return self.wsgi_app(environ, start_response)
        return response(environ, start_response)

    def _cached(self, environ: dict[str, Any]) -> Response | None:
        match = _DATASET_FEED.fullmatch(environ.get("PATH_INFO", ""))
        if (
            match is None
            or match["format"] not in CONTENT_TYPES
            or environ.get("REQUEST_METHOD") not in ("GET", "HEAD")
            or _personal(environ)
            or not feed_cache.enabled()
        ):
            return None
        args = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if set(args) - {"profiles"} or len(args.get("profiles", [])) > 1:
            return None
        try:
            profiles = parse_profiles(args["profiles"][0] if args else None)
            text = _cached_dataset_document(match["id"], match["format"], profiles)
        except Exception:  # noqa: BLE001 - CKAN's own path answers, and reports what is wrong
            log.debug("No cached answer for %s", environ.get("PATH_INFO"), exc_info=True)
            return None
        if text is None:
            return None
        response = _rdf(text, match["format"])
        response.cache_control.public = True
        response.cache_control.max_age = tk.config.get("ckan.cache_expires")
        response.cache_control.must_revalidate = True
        response.vary.add("Cookie")
        response.headers["X-Cache"] = "HIT"
        return response


def _cached_dataset_document(id_or_name: str, _format: str, profiles: tuple[str, ...] | None) -> str | None:
    table = model.package_table
    query = (
        select(table.c.id, table.c.metadata_modified, table.c.state, table.c.private, table.c.type)
        .where(or_(table.c.id == id_or_name, table.c.name == id_or_name))
        .limit(2)
    )
    with model.meta.engine.connect() as connection:
        found = connection.execute(query).all()
    package = next((row for row in found if row.id == id_or_name), found[0] if found else None)
    if package is None or not _published(package):
        return None
    return feed_cache.get(_dataset_key(package, _format, profiles))
