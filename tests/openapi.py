"""Every answer the suite's JSON calls receive is checked against the OpenAPI document
the app serves (/api/v1/openapi.json), with schemathesis: the status must be documented,
and the body must match the documented schema (errors included). So the document stays
true to the API as both change; tests/web/test_openapi.py adds generated requests."""

from __future__ import annotations

import json

import schemathesis

PREFIX = "/api/v1/"
_loaded: dict[str, object] = {}


def document(client) -> dict:
    return client.get(PREFIX + "openapi.json").get_json()


def schema_of(spec: dict):
    """The schemathesis view of a document, loaded once per distinct document."""
    key = json.dumps(spec, sort_keys=True)
    if key not in _loaded:
        _loaded[key] = schemathesis.openapi.from_dict(spec)
    return _loaded[key]


def checked(client, response):
    """The response, once its request's operation says this answer is possible."""
    request = response.request
    path = request.path
    if not path.startswith(PREFIX) or path.startswith((PREFIX + "openapi", PREFIX + "docs")):
        return response
    app = client.application
    schema = app.extensions.get("hpf_test_openapi")
    if schema is None:
        schema = app.extensions["hpf_test_openapi"] = schema_of(document(app.test_client()))
    operation = schema.find_operation_by_path(request.method, path)
    assert operation is not None, f"{request.method} {path} is not in the OpenAPI document"
    operation.validate_response(response)
    return response
