"""Login pages (unit operators with their UKey; centre staff on their own entrance), the
UKey agent's download, logout, password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, send_file, url_for

from engine.actors import ANALYST, OPERATOR
from services import accounts
from services.db import db
from services.errors import HallError
from services.ukey import login as ukey_login

from .. import auth
from ..ukey.agent import DEFAULT_PORT
from ..ukey.stack import AGENT
from . import bp


def _next_url(default: str) -> str:
    """Only a path on this site: no scheme or host, and nothing a browser would read as
    one (`//host`, `/\\host`, or control characters it strips, as in `/<TAB>/host`)."""
    target = request.args.get("next") or request.form.get("next") or ""
    if not target.startswith("/") or "\\" in target \
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, form = None, {"unit_account": "", "login_name": ""}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in form}
        ukey = {field: request.form.get(f"ukey_{field}", "") for field in ukey_login.FIELDS}
        try:
            user = ukey_login.authenticate(form["unit_account"], form["login_name"],
                                           request.form.get("password", ""), ukey,
                                           auth.ukey_binding())
        except HallError as exc:
            error = exc.message
        else:
            auth.log_in(user)
            db.session.commit()  # a successful login clears the failed-attempt count
            return redirect(_next_url(url_for("views.home")))
    port = current_app.config["UKEY_AGENT_PORT"]
    return render_template("auth/login.html", error=error, form=form,
                           agent_url=f"http://127.0.0.1:{port}",
                           agent_command=_agent_command()), 401 if error else 200


@bp.get("/ukey/agent")
def ukey_agent():
    """下载驱动程序 (manual 1.1): the UKey agent and the one line that starts it."""
    return render_template("auth/ukey_agent.html", port=current_app.config["UKEY_AGENT_PORT"],
                           agent_command=_agent_command())


def _agent_command() -> str:
    """The line that starts the agent for this hall: its origin is HPF_PUBLIC_URL behind a
    proxy, else the address this page was asked at."""
    port = current_app.config["UKEY_AGENT_PORT"]
    origin = (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")
    return (f"pip install pyscard && python3 hpf-ukey-agent.py --origin {origin}"
            + ("" if port == DEFAULT_PORT else f" --port {port}"))


@bp.get("/ukey/hpf-ukey-agent.py")
def ukey_agent_file():
    return send_file(AGENT, mimetype="text/x-python", as_attachment=True,
                     download_name="hpf-ukey-agent.py")


@bp.route("/centre/login", methods=["GET", "POST"])
def centre_login():
    error, login_name = None, ""
    if request.method == "POST":
        login_name = request.form.get("login_name", "").strip()
        try:
            user = accounts.authenticate_staff(login_name, request.form.get("password", ""))
        except HallError as exc:
            error = exc.message
        else:
            auth.log_in(user)
            db.session.commit()
            home = "views.processes" if user.role == ANALYST else "views.centre_desk"
            return redirect(_next_url(url_for(home)))
    return render_template("auth/centre_login.html", error=error, login_name=login_name), \
        401 if error else 200


@bp.post("/logout")
def logout():
    actor = auth.current_actor()
    auth.log_out()
    db.session.commit()
    flash("您已安全退出", "success")
    staff = actor is not None and not actor.is_operator
    return redirect(url_for("views.centre_login" if staff else "views.login"))


@bp.route("/password", methods=["GET", "POST"])
@auth.login_required()
def password():
    errors: dict = {}
    if request.method == "POST":
        new = request.form.get("new", "")
        if new != request.form.get("confirm", ""):
            errors = {"confirm": ["两次输入的新密码不一致"]}
        else:
            try:
                user = auth.current_user()
                accounts.change_password(user, request.form.get("old", ""), new)
                db.session.commit()
                auth.log_in(user)  # other sessions end; this one carries on
            except HallError as exc:
                errors = exc.errors or {"old": [exc.message]}
            else:
                flash("密码已修改，其他已登录的地方需用新密码重新登录", "success")
                return redirect(url_for("views.home"))
    return render_template("auth/password.html", errors=errors), 422 if errors else 200


@bp.post("/settings/sound")
@auth.login_required(OPERATOR)
def toggle_sound():
    """关闭/开启音效, remembered per operator."""
    user = auth.current_user()
    user.sound_enabled = request.form.get("enabled") == "1"
    db.session.commit()
    if request.headers.get("X-Requested-With") == "fetch":
        return {"sound_enabled": user.sound_enabled}
    return redirect(_next_url(url_for("views.home")))
