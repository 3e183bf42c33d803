"""One Redis client per process for the extension's own keys (feed cache, job debouncing).

CKAN's connect_to_redis builds a new client at every call, a quarter of a millisecond
each, and a dataset change makes several (its quality score, its consolidation, the
feeds). redis-py's pool opens new connections in a forked process by itself.
"""

from __future__ import annotations

from functools import lru_cache

import ckan.plugins.toolkit as tk
from redis import Redis


@lru_cache(maxsize=4)
def _client(url: str) -> Redis:
    return Redis.from_url(url)


def redis() -> Redis:
    """The process's client for ckan.redis.url (bytes in and out, as connect_to_redis's)."""
    return _client(tk.config["ckan.redis.url"])
