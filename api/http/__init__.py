"""The integrator HTTP API (Litestar): `create_app()` builds it."""

from tempclock.api.http.app import create_app

__all__ = ["create_app"]
