"""Delivery: the FastAPI JSON API, the web pages, authentication and the ``caseclock`` command."""
