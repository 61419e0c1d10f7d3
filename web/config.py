"""Settings from the environment: HPF_DATABASE_URL, HPF_PORT, HPF_INSTANCE_DIR,
HPF_SECRET_KEY, HPF_SECURE_COOKIES, HPF_PUBLIC_URL, HPF_UKEY_AGENT_PORT, HPF_UKEY_CA_DIR;
for long work HPF_BROKER_URL, HPF_JOB_QUEUE, HPF_JOB_THREADS, HPF_ASYNC_ROWS; the
production server's own settings are read in web/serving.py."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from services.files import create_private, write_private

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    path = Path(os.environ.get("HPF_INSTANCE_DIR") or PROJECT_ROOT / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def database_url(instance: Path) -> str:
    if os.environ.get("HPF_DATABASE_URL"):
        return os.environ["HPF_DATABASE_URL"]
    create_private(instance / "hall.db")  # the embedded database: for our eyes only
    return f"sqlite:///{instance / 'hall.db'}"


def port() -> int:
    return int(os.environ.get("HPF_PORT") or 5000)


def ukey_agent_port() -> int:
    """Where the login page finds the UKey agent on the operator's PC (127.0.0.1)."""
    from .ukey.agent import DEFAULT_PORT
    return int(os.environ.get("HPF_UKEY_AGENT_PORT") or DEFAULT_PORT)


def secret_key(instance: Path) -> str:
    """HPF_SECRET_KEY, or a random key kept in the instance dir so sessions survive restarts."""
    if os.environ.get("HPF_SECRET_KEY"):
        return os.environ["HPF_SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_hex(32))
    return path.read_text().strip()


def load(overrides: dict | None = None) -> dict:
    instance = Path(overrides["INSTANCE_DIR"]) if overrides and "INSTANCE_DIR" in overrides \
        else instance_dir()
    config = {
        "INSTANCE_DIR": str(instance),
        "SQLALCHEMY_DATABASE_URI": (overrides or {}).get("SQLALCHEMY_DATABASE_URI")
        or database_url(instance),
        "SECRET_KEY": secret_key(instance),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Behind HTTPS set HPF_SECURE_COOKIES=1 so the session cookie never travels in clear.
        "SESSION_COOKIE_SECURE": os.environ.get("HPF_SECURE_COOKIES") == "1",
        # The hall's address as people outside reach it (printed QR codes lead there).
        "PUBLIC_URL": os.environ.get("HPF_PUBLIC_URL", ""),
        # A session cookie is refused after a working day, even if someone kept a copy.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "DEPLOY_ON_START": True,
        # The centre CA's key (0600), made at first use by `hpf issue-ukey` / `seed-demo`.
        "UKEY_CA_DIR": os.environ.get("HPF_UKEY_CA_DIR") or str(instance / "ukey-ca"),
        "UKEY_AGENT_PORT": ukey_agent_port(),
        "BPMN_DIR": str(PROJECT_ROOT / "bpmn-diagrams"),
        "API_TITLE": "住房公积金单位网上业务大厅 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        # Long work (services/jobs.py): on Celery when a broker is set, else in-process.
        "BROKER_URL": os.environ.get("HPF_BROKER_URL") or None,
        "JOB_QUEUE": os.environ.get("HPF_JOB_QUEUE") or "hpf",
        "JOB_THREADS": int(os.environ.get("HPF_JOB_THREADS") or 2),
        #: Imports and exports above this many rows run as jobs, not in the request.
        "ASYNC_ROWS": int(os.environ.get("HPF_ASYNC_ROWS") or 3000),
    }
    config.update(overrides or {})
    return config
