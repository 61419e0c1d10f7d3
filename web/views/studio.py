"""流程设计 (the analyst's studio): a business's diagram in the bpmn-js modeler, and the
migration page of an old version. Both pages are shells: their actions go through the
JSON API (web/api/studio.py), with the CSRF token from the page's meta tag."""

from __future__ import annotations

from flask import render_template, request

from engine import deploy, registry
from engine.actors import STAFF
from services.errors import NotFound

from .. import auth
from . import bp


def _versions(key: str):
    if not registry.is_business(key):
        raise NotFound(f"业务 {key} 不存在")
    rows = deploy.versions(key)
    if not rows:
        raise NotFound(f"业务 {key} 尚未部署流程图")
    return rows


@bp.get("/centre/processes/<key>/studio")
@auth.login_required(STAFF)
def studio(key: str):
    rows = _versions(key)
    number = request.args.get("v", type=int)
    current = deploy.version(key, number) if number else rows[0]
    return render_template("centre/studio.html", key=key, current=current, versions=rows,
                           can_deploy=auth.current_actor().is_analyst)


@bp.get("/centre/processes/<key>/v<int:number>/migrate")
@auth.login_required(STAFF)
def migrate_page(key: str, number: int):
    rows = _versions(key)
    current = deploy.version(key, number)
    return render_template("centre/migrate.html", key=key, current=current, latest=rows[0],
                           can_migrate=auth.current_actor().is_analyst)
