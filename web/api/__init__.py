"""The JSON API (/api/v1, flask-smorest): OpenAPI at /api/v1/openapi.json, Swagger UI at
/api/v1/docs. Errors are {"code", "message", "errors"} with field paths."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from ..errors import http_error_response
from . import responses

PREFIX = "/api/v1"
DESCRIPTION = ("住房公积金单位网上业务大厅：单位经办人与中心审核员的接口。会话 Cookie 认证；"
               "修改数据的请求须在请求头 X-CSRF-Token 中携带 GET /api/v1/auth/csrf 返回的令牌。")


class HallApi(Api):
    #: Refusals as `web.errors.respond` sends them (code in words, not a number).
    ERROR_SCHEMA = responses.Error

    def handle_http_exception(self, error):
        return http_error_response(error)


api = HallApi()


def init_app(app: Flask) -> None:
    from . import auth, documents, instances, jobs, money, processes, studio, tasks, transfer, units
    api.init_app(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    for module in (auth, units, processes, tasks, instances, documents, jobs, money, studio,
                   transfer):
        api.register_blueprint(module.blp, url_prefix=PREFIX + module.PREFIX)
