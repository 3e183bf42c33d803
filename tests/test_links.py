"""Links are fetched from the public internet only, over http(s), within a deadline and a size cap
(links.py); the portal refuses other schemes and never shows what a refused fetch would have read."""

import http.server
import ipaddress
import json
import threading
import time

import pytest
from ckan.lib import jobs
from ckan.tests import factories
from ckan.tests.helpers import call_action

from ckanext.mel import links

LOCAL = links.parse_networks(["127.0.0.1/32"])
CSV = b"COLL_INSEE,COLL_NOM\n59017,Armentieres\n"


@pytest.fixture
def server():
    """A server of the test's own on 127.0.0.1 that redirects, drips or serves, and counts its requests."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            hits.append(self.path)
            route = routes.get(self.path.split("?")[0])
            if route is None:
                self._send(404, b"<html>secret 404 page</html>")
            else:
                route(self)

        def _send(self, status, body, headers=()):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    routes = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def redirect(path, location, status=302):
        routes[path] = lambda h: h._send(status, b"", [("Location", location)])
        return base + path

    def serve(path, body, headers=()):
        routes[path] = lambda h: h._send(200, body, headers)
        return base + path

    def drip(path, pause):
        def handler(h):
            h.send_response(200)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            try:
                for _ in range(1000):
                    h.wfile.write(b"a")
                    h.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass

        routes[path] = handler
        return base + path

    def unsized(path, size):
        def handler(h):
            h.send_response(200)
            h.send_header("Connection", "close")
            h.end_headers()
            try:
                for _ in range(size // 65536 + 1):
                    h.wfile.write(b"x" * 65536)
            except OSError:
                pass
            h.close_connection = True

        routes[path] = handler
        return base + path

    yield type(
        "Server",
        (),
        {
            "base": base,
            "hits": hits,
            "redirect": staticmethod(redirect),
            "serve": staticmethod(serve),
            "drip": staticmethod(drip),
            "unsized": staticmethod(unsized),
        },
    )
    httpd.shutdown()


def policy(**overrides):
    return links.Policy(**{"max_bytes": 10_000, "deadline": 5, "allowed_networks": LOCAL, **overrides})


OFF_THE_INTERNET = [
    "127.0.0.1",
    "127.1.2.3",
    "::1",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "169.254.169.254",  # link-local: cloud metadata services
    "fe80::1",
    "fc00::1",
    "fec0::1",  # site-local
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "0.0.0.0",
    "::",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
]


class TestAddresses:
    def test_an_address_off_the_public_internet_is_refused(self):
        assert [a for a in OFF_THE_INTERNET if links.is_public(ipaddress.ip_address(a))] == []

    def test_a_public_address_is_fetched(self):
        addresses = ["8.8.8.8", "193.51.24.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "2a00:1450:4007::1"]
        assert [a for a in addresses if not links.is_public(ipaddress.ip_address(a))] == []

    def test_allowed_networks_open_their_range_only(self):
        assert links.allowed(ipaddress.ip_address("127.0.0.1"), LOCAL) is True
        assert links.allowed(ipaddress.ip_address("::ffff:127.0.0.1"), LOCAL) is True
        assert links.allowed(ipaddress.ip_address("127.0.0.2"), LOCAL) is False
        assert links.allowed(ipaddress.ip_address("::1"), LOCAL) is False
        assert links.allowed(ipaddress.ip_address("10.0.0.1"), LOCAL) is False

    def test_a_host_name_is_refused_for_what_it_resolves_to(self):
        with pytest.raises(links.FetchError) as caught:
            links.resolve("localhost", 80, ())
        assert caught.value.code == "address"

    def test_only_http_and_https_are_fetched(self):
        for url, scheme in [
            ("file:///etc/passwd", "file"),
            ("gopher://127.0.0.1:6390/_INFO", "gopher"),
            ("ftp://example.org/data.csv", "ftp"),
            ("dict://127.0.0.1:6390/info", "dict"),
            ("javascript:alert(1)", "javascript"),
        ]:
            with pytest.raises(links.FetchError) as caught:
                links.fetch(url, policy())
            assert (caught.value.code, caught.value.params) == ("scheme", {"scheme": scheme}), url


class TestFetch:
    def test_a_loopback_server_is_not_even_contacted(self, server):
        url = server.serve("/data.csv", CSV)
        with pytest.raises(links.FetchError) as caught:
            links.fetch(url, policy(allowed_networks=()))
        assert caught.value.code == "address"
        assert server.hits == []

    def test_an_allowed_server_is_fetched(self, server):
        fetched = links.fetch(server.serve("/data.csv", CSV), policy())
        assert (fetched.content, fetched.redirects) == (CSV, 0)

    def test_redirects_are_followed_a_few_times(self, server):
        server.serve("/data.csv", CSV)
        server.redirect("/b", "/data.csv", 301)
        url = server.redirect("/a", server.base + "/b", 307)
        fetched = links.fetch(url, policy())
        assert (fetched.content, fetched.redirects, fetched.url) == (CSV, 2, server.base + "/data.csv")

    def test_a_redirect_loop_stops(self, server):
        url = server.redirect("/loop", "/loop")
        with pytest.raises(links.FetchError) as caught:
            links.fetch(url, policy(max_redirects=3))
        assert (caught.value.code, caught.value.params) == ("redirects", {"limit": 3})
        assert len(server.hits) == 4

    def test_each_redirect_is_checked_like_the_link(self, server):
        for target, code in [
            ("http://169.254.169.254/latest/meta-data/", "address"),
            ("http://[::1]:8983/solr/ckan/select?q=*:*", "address"),
            ("http://10.0.0.1/", "address"),
            ("http://[::ffff:a00:1]/", "address"),
            ("file:///etc/passwd", "scheme"),
            ("gopher://127.0.0.1:6390/_INFO", "scheme"),
        ]:
            url = server.redirect("/away", target)
            with pytest.raises(links.FetchError) as caught:
                links.fetch(url, policy())
            assert caught.value.code == code, target

    def test_the_deadline_bounds_the_whole_download_not_each_read(self, server):
        # One byte every 0.2 s: no read ever waits a second, the download would take 200 s.
        url = server.drip("/slow.csv", 0.2)
        with pytest.raises(links.FetchError) as caught:
            links.fetch(url, policy(deadline=1))
        assert caught.value.code == "timeout"

    def test_a_file_announced_too_large_is_not_read(self, server):
        url = server.serve("/big.csv", b"x" * 20_000)
        with pytest.raises(links.FetchError) as caught:
            links.fetch(url, policy(max_bytes=10_000))
        assert (caught.value.code, caught.value.params) == ("too-large", {"limit": 10_000})

    def test_a_file_without_length_is_cut_at_the_cap(self, server):
        url = server.unsized("/endless.csv", 5_000_000)
        with pytest.raises(links.FetchError) as caught:
            links.fetch(url, policy(max_bytes=100_000))
        assert caught.value.code == "too-large"

    def test_an_error_page_is_neither_kept_nor_told(self, server):
        with pytest.raises(links.FetchError) as caught:
            links.fetch(server.base + "/absent.csv", policy())
        assert (caught.value.code, caught.value.params) == ("http-status", {"status": 404})
        assert "secret" not in repr(caught.value.__dict__)

    def test_closed_and_open_ports_look_the_same_off_the_allowed_range(self, server):
        """No port scanning: refused before any connection, whatever listens there."""
        closed = "http://127.0.0.1:9/"
        for url in (server.base + "/absent.csv", closed):
            with pytest.raises(links.FetchError) as caught:
                links.fetch(url, policy(allowed_networks=()))
            assert caught.value.code == "address"
        assert server.hits == []


# Through the portal


@pytest.fixture
def linked_dataset(armentieres_naissances):
    return armentieres_naissances


@pytest.mark.usefixtures("clean_db", "clean_index", "clean_queues", "with_test_worker")
class TestLinksOnThePortal:
    def test_a_link_that_is_not_http_is_refused(self, linked_dataset, sysadmin):
        for url in [
            "file:///etc/passwd",
            "gopher://127.0.0.1:6390/_INFO",
            "ftp://example.org/a.csv",
            "javascript:alert(1)",
        ]:
            with pytest.raises(tk_validation_error()) as caught:
                call_action(
                    "resource_create",
                    context={"user": sysadmin["name"]},
                    package_id=linked_dataset["id"],
                    url=url,
                )
            assert "http://" in caught.value.error_dict["url"][0], url
        assert call_action("package_show", id=linked_dataset["id"])["resources"] == []

    def test_a_link_that_is_not_http_is_refused_in_french_through_the_api(
        self, app, linked_dataset, sysadmin
    ):
        token = factories.APIToken(user=sysadmin["name"])["token"]
        response = app.post(
            "/api/3/action/resource_create",
            json={"package_id": linked_dataset["id"], "url": "file:///etc/passwd"},
            headers={"Authorization": token, "Accept-Language": "fr"},
            status=409,
        )
        message = response.json["error"]["url"][0].replace("\u00a0", " ")
        assert message == (
            "Seuls les liens web sont acceptés (commençant par http:// ou https://), pas les liens « file: »."
        )

    def test_a_dataset_cannot_bring_such_a_link_in_either(self, linked_dataset, sysadmin):
        with pytest.raises(tk_validation_error()):
            call_action(
                "package_patch",
                context={"user": sysadmin["name"]},
                id=linked_dataset["id"],
                resources=[{"url": "gopher://127.0.0.1:6379/_FLUSHALL", "name": "x"}],
            )

    def test_a_web_link_is_kept(self, linked_dataset, sysadmin):
        resource = call_action(
            "resource_create",
            context={"user": sysadmin["name"]},
            package_id=linked_dataset["id"],
            url="https://data.example.org/naissances.csv",
        )
        assert resource["url"] == "https://data.example.org/naissances.csv"

    def test_a_link_to_the_portals_solr_is_refused_and_nothing_of_it_is_shown(
        self, app, linked_dataset, sysadmin, commune_factory
    ):
        """The issue's case: Solr's CSV of private datasets, through mel_validation_show."""
        other = commune_factory(name="wambrechies", insee_code="59636")
        call_action(
            "package_create",
            context={"user": sysadmin["name"]},
            name="secret-deliberations-wambrechies",
            title="Secret",
            notes="Privé.",
            owner_org=other["id"],
            private=True,
        )
        from ckan.common import config

        solr = config["solr_url"].rstrip("/")
        resource = call_action(
            "resource_create",
            context={"user": sysadmin["name"]},
            package_id=linked_dataset["id"],
            url=f"{solr}/select?q=capacity:private&fl=title,name&wt=csv",
            format="CSV",
        )
        jobs.Worker().work(burst=True)

        response = app.get(
            "/api/3/action/mel_validation_show",
            query_string={"id": resource["id"]},
            headers={"Accept-Language": "fr"},
        )
        report = response.json["result"]
        assert report["status"] == "error"
        assert (report["errors"][0]["code"], report["errors"][0]["reason"]) == ("fetch-error", "address")
        assert "n'est pas sur l'internet public" in report["errors"][0]["message"]
        assert "secret-deliberations" not in json.dumps(report)

    @pytest.mark.ckan_config("ckanext.mel.validation.allowed_networks", "127.0.0.1/32")
    def test_a_redirect_to_an_internal_address_is_refused(self, server, linked_dataset, sysadmin):
        url = server.redirect("/naissances.csv", "http://[::1]:8983/solr/ckan/select?q=*:*&wt=csv")
        resource = call_action(
            "resource_create", context={"user": sysadmin["name"]}, package_id=linked_dataset["id"], url=url
        )
        jobs.Worker().work(burst=True)
        report = call_action("mel_validation_show", id=resource["id"])
        assert (report["errors"][0]["code"], report["errors"][0]["reason"]) == ("fetch-error", "address")


def tk_validation_error():
    import ckan.plugins.toolkit as tk

    return tk.ValidationError
