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
from flask_smorest import Api, Blueprint
from flask_smorest.pagination import PaginationMetadataSchema
from flask_smorest.utils import prepare_response
from marshmallow import INCLUDE, Schema, fields
from webargs.flaskparser import FlaskParser, abort

from loyalty.auth.policy import PUBLIC
from loyalty.schema_fields import INT32_MAX

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


# The header a till sends with every mutating call (loyalty.idempotency.edge).
_IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": True,
    "description": "The till's key for this sale or return: the same key with the same body "
                   "replays the first answer, never a second effect",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}


class EdgeDocPlugin(BasePlugin):
    """Adds to every operation its security, the error answers the edge gives to all, and
    what the edge reads besides the schemas (the Idempotency-Key header, the page bound)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        endpoint = rule.endpoint if rule is not None else None
        view = self.app.view_functions.get(endpoint or "")
        for operation in (operations or {}).values():
            if endpoint:  # the policy's name for it (loyalty.auth.policy), unique per view
                operation.setdefault("operationId", endpoint)
            responses = operation.setdefault("responses", {})
            self._parameters(operation, view)
            self._body(operation)
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

    def _parameters(self, operation: dict, view: Any) -> None:
        parameters = operation.setdefault("parameters", [])
        for parameter in parameters:
            if parameter.get("in") == "query" and parameter.get("name") == "page":
                parameter.setdefault("schema", {})["maximum"] = MAX_PAGE
        if getattr(view, "idempotency_key_header", False):
            parameters.append(dict(_IDEMPOTENCY_KEY))
            operation["responses"].setdefault("400", "BAD_REQUEST")

    def _body(self, operation: dict) -> None:
        """A body whose schema requires no field may be left out: the view reads it as {}
        (a PATCH that changes nothing, a card blocked without a reason)."""
        body = operation.get("requestBody")
        if body is None:
            return
        for media in body.get("content", {}).values():
            ref = media.get("schema", {})
            name = ref.get("$ref", "").rpartition("/")[2] if isinstance(ref, dict) else ""
            schema = self.spec.components.schemas.get(name, {}) if name else {}
            if name and not schema.get("required"):
                body["required"] = False

    def init_spec(self, spec: Any) -> None:
        super().init_spec(spec)
        self.spec = spec


MAX_PAGE = INT32_MAX  # past it, the offset of a page would overflow a 64-bit integer


class BoundedPages(FlaskParser):
    """flask-smorest's page/page_size parser, refusing a page past :data:`MAX_PAGE` (422)
    instead of handing the database an offset it cannot hold."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        params = super().parse(*args, **kwargs)
        if params.page > MAX_PAGE:
            abort(422, messages={"query": {"page": [f"Must be at most {MAX_PAGE}."]}})
        return params


class LoyaltyApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def register_blueprint(self, blp: Blueprint, **options: Any) -> None:
        blp.PAGINATION_ARGUMENTS_PARSER = BoundedPages()
        super().register_blueprint(blp, **options)

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


def spec_kwargs(app: Flask) -> dict[str, Any]:
    return {"extra_plugins": [EdgeDocPlugin(app)]}


def init_docs(app: Flask, api: Api, prefix: str) -> None:
    """After ``api.init_app``: declare the bearer scheme; serve Swagger UI's files."""
    api.spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer",
        "description": "A till's device token or a staff API token (POST /staff/sessions)",
    })

    def assets(filename: str) -> Response:
        return send_from_directory(str(SWAGGER_UI_DIST), filename, max_age=3600)

    app.add_url_rule(f"{prefix}/{DOCS_PATH}/assets/<path:filename>", ASSETS_ENDPOINT, assets)
