"""gunicorn settings of `make run` (workers and threads come from scripts/run.sh).

gthread workers: each process serves several requests at once with threads, so
a slow request (a large upload being checked) never stalls the other users; the
processes are preloaded after the fork (CKAN's app is built per worker, as
uWSGI's --lazy-apps does) and recycled after a number of requests, which bounds
any slow memory growth.
"""

worker_class = "gthread"
# A request that runs longer than this is killed and its worker replaced
# (uWSGI's --harakiri in CKAN's images is 50 s).
timeout = 60
graceful_timeout = 20
keepalive = 5
max_requests = 1000
max_requests_jitter = 100
# Uploads are read into memory up to ckan.max_resource_size; headers stay small.
limit_request_line = 8190
limit_request_fields = 100
# gunicorn's control socket sits in the user's home by default, one path for
# every server of the user: the demo and the tests' servers would fight over it.
control_socket_disable = True


def post_worker_init(worker):
    """Before a new worker serves: what the feeds keep per process (ckanext/mel/wsgi.py)."""
    from ckanext.mel import wsgi

    wsgi.warm_up()
