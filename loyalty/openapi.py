"""The OpenAPI document says what the API does: its errors, its security, its pagination.

* Every error is declared as ``application/problem+json`` with :class:`ProblemSchema`, the body
  :mod:`loyalty.http` sends (flask-smorest's default declares ``application/json`` with an
  integer ``code`` and a string ``status``: the reverse of ours).
* The bearer scheme is declared once; each operation says whether it needs it, from the access
  policy itself (:mod:`loyalty.auth.policy`), so the document cannot drift from what is enforced.
* ``X-Pagination`` is declared as what it is: a JSON object serialised in a header.
* Swagger UI is served by the app at ``/api/v1/docs``, its JavaScript and CSS from the
  ``flask-swagger-ui`` package (installed with the app, no CDN).
"""

from __future__ import annotations

import http
from importlib.resources import files
from typing import Any

from apispec import BasePlugin
from flask import Flask, Response, send_from_directory
from flask_smorest import Api
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields

from loyalty.auth.policy import PUBLIC

PROBLEM_JSON = "application/problem+json"
BEARER = "bearerAuth"
DOCS_PATH = "docs"  # under the API prefix: /api/v1/docs
ASSETS_ENDPOINT = "api_docs_assets"
SWAGGER_UI_DIST = files("flask_swagger_ui") / "dist"

# Headers some error answers carry, declared on their responses.
_ERROR_HEADERS = {
    401: {"WWW-Authenticate": "The authentication scheme to use: Bearer"},
    405: {"Allow": "The methods this path accepts"},
    429: {"Retry-After": "Seconds to wait before trying again"},
}


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of this API is answered."""

    class Meta:
        unknown = INCLUDE  # a problem may carry more members (reason, fields, ...)

    type = fields.String(metadata={"description": "URI naming the kind of problem"})
    title = fields.String(metadata={"description": "Short summary of the kind of problem"})
    status = fields.Integer(metadata={"description": "The HTTP status code"})
    code = fields.String(metadata={"description": "Stable machine-readable code"})
    detail = fields.String(metadata={"description": "What went wrong this time"})
    errors = fields.Dict(metadata={"description": "Invalid input: messages per location and "
                                                  "field, e.g. {\"json\": {\"name\": [...]}}"})


class EdgeDocPlugin(BasePlugin):
    """Adds to every operation its security and the error answers the edge gives to all."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        endpoint = rule.endpoint if rule is not None else None
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            if endpoint in PUBLIC:
                operation["security"] = []
            else:
                operation["security"] = [{BEARER: []}]
                responses.setdefault("401", "UNAUTHORIZED")
                responses.setdefault("403", "FORBIDDEN")
            if rule is not None and rule.arguments:
                responses.setdefault("404", "NOT_FOUND")
            if "requestBody" in operation:
                responses.setdefault("415", "UNSUPPORTED_MEDIA_TYPE")


class LoyaltyApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        """flask-smorest's, with our media type and the headers some errors carry."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_JSON)
            if status in _ERROR_HEADERS:
                response["headers"] = {
                    name: {"description": text, "schema": {"type": "string"}}
                    for name, text in _ERROR_HEADERS[status].items()
                }
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def _register_pagination_header(self) -> None:
        """The header's value is a JSON object: declared as content, not as an object schema
        (a header's schema describes the string itself)."""
        self.spec.components.header("PAGINATION", {
            "description": "Pagination metadata, a JSON object",
            "content": {"application/json": {"schema": PaginationMetadataSchema}},
        }, lazy=True)


def api_settings(prefix: str) -> dict[str, Any]:
    """The flask-smorest settings: the document at ``prefix/openapi.json``, Swagger UI at
    ``prefix/docs`` with its assets served by :func:`init_docs`."""
    return {
        "OPENAPI_URL_PREFIX": prefix,
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": DOCS_PATH,
        "OPENAPI_SWAGGER_UI_URL": f"{prefix}/{DOCS_PATH}/assets/",
        "OPENAPI_SWAGGER_UI_CONFIG": {"deepLinking": True, "tryItOutEnabled": False},
    }


def spec_kwargs() -> dict[str, Any]:
    return {"extra_plugins": [EdgeDocPlugin()]}


def init_docs(app: Flask, api: Api, prefix: str) -> None:
    """After ``api.init_app``: declare the bearer scheme; serve Swagger UI's files."""
    api.spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer",
        "description": "A till's device token or a staff API token (POST /staff/sessions)",
    })

    def assets(filename: str) -> Response:
        return send_from_directory(str(SWAGGER_UI_DIST), filename, max_age=3600)

    app.add_url_rule(f"{prefix}/{DOCS_PATH}/assets/<path:filename>", ASSETS_ENDPOINT, assets)
