"""The bevel server: a versioned REST API (``/api/v1``) over a metadata database, with API keys
and roles, for remote workers, notebooks and the dashboard (``bevel server start``).

Behind the ``bevel[server]`` extra (FastAPI, uvicorn); nothing outside this package imports it,
so ``import bevel`` and the other CLI commands never load FastAPI. See :mod:`bevel.server.app`.
"""
