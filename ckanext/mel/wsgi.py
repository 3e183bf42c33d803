"""The WSGI entry point of a production server: `gunicorn ckanext.mel.wsgi:application`.

The configuration file is CKAN_INI (as in CKAN's own images), ckan.ini otherwise.
`warm_up()` is for the server to call in each new worker before it serves
(scripts/gunicorn.conf.py's post_worker_init).
"""

from __future__ import annotations

import gc
import os
from logging.config import fileConfig

from ckan.cli import CKANConfigLoader
from ckan.config.middleware import make_app

_ini = os.path.abspath(os.environ.get("CKAN_INI", "ckan.ini"))
fileConfig(_ini, disable_existing_loggers=False)
application = make_app(CKANConfigLoader(_ini).get_config())


def warm_up() -> None:
    """What a new worker computes before its first request (feeds.warm_up_worker); then what it
    has loaded (about 280,000 objects: CKAN, the plugins, the communes) is left out of the
    garbage collector's scans. A full collection of them stopped a request for 0.17 s (measured) once
    every twenty or so dataset writes; now a collection scans what requests allocate."""
    from ckanext.mel import feeds

    feeds.warm_up_worker(application._wsgi_app)
    gc.collect()
    gc.freeze()
