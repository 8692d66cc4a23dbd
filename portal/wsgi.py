"""WSGI entry point (gunicorn portal.wsgi)."""

import gc

from portal.boot import configure

configure()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

# What start-up built lives as long as the process: take it out of the garbage collector's
# generations, so that a full collection (tens of ms over a loaded portal) never lands in a request.
gc.collect()
gc.freeze()
