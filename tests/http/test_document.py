"""The API says what it does (issue 8, section 4): its document, its headers, its pages.

The document is read as a client reads it (GET /api/v1/openapi.json) and held to what the
server answers; schemathesis (test_schemathesis.py) does the same across every operation.
"""

from __future__ import annotations

import json
import re

import jsonschema_rs  # comes with schemathesis
import pytest

from loyalty.auth.policy import PUBLIC
from tests.auth.chain import make_chain
from tests.factories import make_member

API = "/api/v1"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client) -> dict:  # type: ignore[no-untyped-def]
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200
    return resp.json


def _operations(document: dict):  # type: ignore[no-untyped-def]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


def test_the_bearer_scheme_is_declared_and_each_operation_says_if_it_needs_it(document):
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, method, operation in _operations(document):
        public = operation["operationId"] in PUBLIC
        assert operation["security"] == ([] if public else [{"bearerAuth": []}]), path
        if not public:
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_error_is_declared_as_the_problem_json_actually_sent(document, client):
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"
    assert problem["properties"]["code"]["type"] == "string"
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                content = _resolve(document, response)["content"]
                assert list(content) == ["application/problem+json"], (method, path, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"}
    sent = client.get(f"{API}/members/1")  # no token: a 401 as any client gets it
    assert sent.mimetype == "application/problem+json"
    jsonschema_rs.validate(problem, sent.json)


def test_ids_in_paths_are_declared_with_the_database_range(document):
    member = document["paths"][f"{API}/members/{{member_id}}"]["parameters"][0]
    assert member["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def test_x_pagination_matches_its_declared_schema(document, client, db, settings):
    chain = make_chain(db)
    member, _card = make_member(db, settings)
    db.commit()
    for body in ("first note", "second note"):
        client.post(f"{API}/members/{member.id}/notes", json={"body": body},
                    headers=chain.headers("admin"))
    resp = client.get(f"{API}/members/{member.id}/notes?page=1&page_size=1",
                      headers=chain.headers("admin"))
    assert resp.status_code == 200
    operation = document["paths"][f"{API}/members/{{member_id}}/notes"]["get"]
    header = _resolve(document, operation["responses"]["200"]["headers"]["X-Pagination"])
    schema = _resolve(document, header["content"]["application/json"]["schema"])
    metadata = json.loads(resp.headers["X-Pagination"])
    jsonschema_rs.validate(schema, metadata)
    assert (metadata["page"], metadata["total"], metadata["next_page"]) == (1, 2, 2)


def test_a_401_names_the_bearer_scheme(client):
    resp = client.get(f"{API}/members/1")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_405_says_which_methods_the_path_takes(client):
    resp = client.delete(f"{API}/staff/sessions")
    assert resp.status_code == 405
    assert resp.mimetype == "application/problem+json"
    assert set(re.split(r",\s*", resp.headers["Allow"])) >= {"POST"}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_json_gets_415_saying_so(client, content_type):
    body = '{"username": "someone", "password": "something long"}'
    resp = client.post(f"{API}/staff/sessions", data=body,
                       headers={"Content-Type": content_type} if content_type else {})
    assert resp.status_code == 415, resp.get_data(as_text=True)
    assert resp.json["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in resp.json["detail"]
    assert "Missing data" not in resp.get_data(as_text=True)


def test_the_same_body_as_json_is_read(client):
    resp = client.post(f"{API}/staff/sessions",
                       json={"username": "someone", "password": "something long"})
    assert (resp.status_code, resp.json["code"]) == (401, "unauthorized")


def test_a_browser_gets_an_error_page_in_its_language(client):
    resp = client.get(f"{API}/members/1?lang=ar", headers=BROWSER)
    assert resp.status_code == 401
    assert resp.mimetype == "text/html"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    page = resp.get_data(as_text=True)
    assert 'dir="rtl"' in page and "يرجى تسجيل الدخول" in page  # "Please sign in"

    missing = client.get("/no/such/page", headers=BROWSER)
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    assert "Page not found" in missing.get_data(as_text=True)


@pytest.mark.parametrize("accept", [None, "application/json", "*/*",
                                    "application/problem+json, text/html;q=0.5"])
def test_api_clients_keep_problem_json(client, accept):
    resp = client.get(f"{API}/members/1", headers={"Accept": accept} if accept else {})
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"


def test_swagger_ui_is_served_by_the_app_with_no_cdn(client):
    page = client.get(f"{API}/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    assert all(a.startswith("/") for a in assets), assets  # nothing from another host
    for asset in assets:
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        assert len(resp.data) > 1000, asset
    assert f"{API}/openapi.json" in html
