"""WSGI entry point (gunicorn portal.wsgi)."""

from portal.boot import configure

configure()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
