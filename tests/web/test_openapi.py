"""The OpenAPI document is true to the API. Every answer the suite's JSON calls receive is
checked against it (tests/openapi.py, through the `api` fixture); here the document's own
promises are checked, and schemathesis sends generated requests to every operation as a
logged-in operator: none may crash the server, and every answer, refusals included, must
be one the document describes."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, Phase, given, settings

from tests import openapi

SUCCESS = {"200", "201", "202", "204"}
#: Generated requests per operation: enough to reach each parameter's edge cases once,
#: few enough that the whole run stays within seconds.
EXAMPLES = 4


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method.upper(), path, operation


def test_every_operation_documents_its_success_answer_and_body(api):
    spec = openapi.document(api.client)
    missing = []
    for method, path, operation in operations(spec):
        documented = SUCCESS & set(operation["responses"])
        if not documented:
            missing.append(f"{method} {path}")
            continue
        for status in documented:
            content = operation["responses"][status].get("content", {})
            assert content and all(c.get("schema") for c in content.values()), \
                f"{method} {path} {status} documents no body"
    assert not missing, f"no success answer documented: {missing}"


def test_refusals_are_documented_as_sent(api):
    spec = openapi.document(api.client)
    error = spec["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["type"] == "string"
    assert set(error["required"]) == {"code", "message", "errors"}
    refused = api.login_operator().get("/api/v1/instances/999999")
    assert refused.status_code == 404 and isinstance(refused.json["code"], str)


def test_bodies_read_by_hand_are_described(api):
    paths = openapi.document(api.client)["paths"]
    rows = paths["/api/v1/instances/{instance_id}/manifest/rows"]["post"]["requestBody"]
    assert rows["content"]["application/json"]["schema"]["type"] == "object"
    upload = paths["/api/v1/instances/{instance_id}/manifest/import"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]
    assert "$ref" in form or form["properties"]["file"]["format"] == "binary"
    payment = paths["/api/v1/payments"]["post"]["requestBody"]["content"]["application/json"]
    assert "idempotency_key" in payment["schema"]["required"]


def _send(client, csrf: str, case):
    """The generated request through the logged-in test client (its session cookie)."""
    kwargs = case.as_transport_kwargs(base_url="")
    headers = {k: v for k, v in kwargs.get("headers", {}).items()
               if k.lower() not in ("connection", "accept-encoding")}
    headers["X-CSRF-Token"] = csrf
    data = kwargs.get("data")
    if kwargs.get("files"):
        data = dict(data or {})
        for name, value in dict(kwargs["files"]).items():
            content = value[1] if isinstance(value, tuple) else value
            if isinstance(content, str):
                content = content.encode()
            data[name] = (io.BytesIO(content or b""), f"{name}.bin")
    return client.open(kwargs["url"], method=kwargs["method"], headers=headers,
                       query_string=kwargs.get("params") or None, json=kwargs.get("json"),
                       data=data)


def test_generated_requests_get_documented_answers(api):
    api.login_operator()
    csrf = api.csrf()
    schema = openapi.schema_of(openapi.document(api.client))
    crashed = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/auth/logout") or operation.path.endswith("/auth/password"):
            continue  # would end or change the session the other operations run in

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = _send(api.client, csrf, case)
            if response.status_code >= 500:
                crashed.append(f"{case.operation.label}: {response.status_code}")
            openapi.checked(api.client, response)

        run()
    assert not crashed, crashed


def test_an_id_beyond_the_database_range_is_not_found(api):
    """Found by the generated requests on PostgreSQL (a 32-bit integer column)."""
    finance = api.login_finance()
    assert finance.post("/api/v1/payables/10876213605255/pay").status_code == 404
    assert api.get("/api/v1/instances/99999999999999999999").status_code == 404
