"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi run`."""

from portfolio import create_app

app = create_app()
