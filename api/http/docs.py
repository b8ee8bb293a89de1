"""The interactive API docs at /docs: Swagger UI served from the installed package, no CDN."""

from __future__ import annotations

import functools
from pathlib import Path, PurePath

from litestar import MediaType, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.static_files import create_static_files_router

OPENAPI_PATH = "/api/v1/openapi.json"
ASSETS_PATH = "/docs/assets"


def swagger_ui_dir() -> Path:
    """Where the `swagger-ui-py` package keeps Swagger UI's static files."""
    import swagger_ui

    return Path(swagger_ui.__file__).with_name("static")


_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>TempClock API v1</title>
  <link rel="icon" href="{ASSETS_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
  <script src="{ASSETS_PATH}/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{OPENAPI_PATH}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    }});
  </script>
</body>
</html>
"""


@get(["/docs", "/docs/"], media_type=MediaType.HTML, include_in_schema=False,
     sync_to_thread=False)
def docs_page() -> str:
    """The Swagger UI page, pointed at our OpenAPI document."""
    return _PAGE


@functools.cache
def _asset_names() -> frozenset[str]:
    return frozenset(path.name for path in swagger_ui_dir().iterdir() if path.is_file())


def _only_the_assets(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """A name none of the assets has is a 404 before the file system is asked: one it
    cannot even look up (a NUL, too long a name) was a 500."""
    asked = PurePath(str(connection.path_params.get("file_path", ""))).as_posix().lstrip("/")
    if asked not in _asset_names():
        raise NotFoundException("No such endpoint")


def docs_routes() -> list:
    """The docs page and its static assets."""
    assets = create_static_files_router(path=ASSETS_PATH, directories=[swagger_ui_dir()],
                                        include_in_schema=False, name="docs-assets",
                                        guards=[_only_the_assets])
    return [docs_page, assets]
