"""WSGI entry point for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py loyalty.wsgi:app``.

Settings come from ``LOYALTY_*`` environment variables (see deploy/loyalty.env.example).
"""

from loyalty.app import create_app

app = create_app()
