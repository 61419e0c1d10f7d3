"""`hpf`: the hall's command line (INTERFACES.md)."""

from __future__ import annotations

import sys

import click

from . import config


def _app(deploy: bool = False):
    from . import create_app
    return create_app({"DEPLOY_ON_START": deploy})


@click.group(help="住房公积金单位网上业务大厅")
def main() -> None:
    pass


@main.command("init-db", help="创建或升级数据库结构（Alembic）")
def init_db() -> None:
    from .migrate import upgrade
    app = _app()
    upgrade(app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo(f"数据库已就绪：{_safe_url(app.config['SQLALCHEMY_DATABASE_URI'])}")


@main.command("seed-demo", help="写入示范数据并生成 demo.json（可重复执行）")
def seed_demo() -> None:
    from pathlib import Path

    from services.demo import seed_demo as seed
    app = _app()
    with app.app_context():
        info = seed(Path(app.config["INSTANCE_DIR"]), ca_dir=Path(app.config["UKEY_CA_DIR"]))
    unit = info["units"][0]
    click.echo(f"示范数据已就绪：{unit['name']}（单位账号 {unit['unit_account']}）；"
               f"登录信息见 {Path(app.config['INSTANCE_DIR']) / 'demo.json'}")


@main.command("deploy", help="校验并部署流程图（默认 bpmn-diagrams/ 下全部）")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def deploy(files: tuple[str, ...]) -> None:
    from pathlib import Path

    from engine.deploy import CLI_NAME, DeployRefused, deploy_directory
    from engine.deploy import deploy as deploy_one
    from services.db import db
    app = _app()
    failed = False
    with app.app_context():
        if files:
            results = []
            for name in files:
                try:
                    with db.session.begin_nested():
                        results.append(deploy_one(Path(name).read_bytes(), Path(name).name,
                                                  CLI_NAME))
                except DeployRefused as refused:
                    results.append(refused)
        else:
            results = deploy_directory(Path(app.config["BPMN_DIR"]), CLI_NAME)
        db.session.commit()
    for result in results:
        if isinstance(result, DeployRefused):
            failed = True
            click.echo(f"拒绝  {result.message}", err=True)
        else:
            state = "新版本" if result.changed else "未变化"
            click.echo(f"{state}  {result.key}  v{result.version}")
    if failed:
        raise SystemExit(1)


@main.command("run-timers", help="触发到期的流程定时器一次后退出")
def run_timers() -> None:
    from engine.runner import run_timers as fire
    app = _app()
    with app.app_context():
        count = fire()
    click.echo(f"已处理 {count} 个到期定时器的流程")


@main.command("serve", help="启动网上业务大厅")
@click.option("--host", default="127.0.0.1")
@click.option("--demo-ukey", is_flag=True,
              help="同时启动 pcscd、插入示范单位的虚拟 UKey 并运行 UKey 助手（make run）")
def serve(host: str, demo_ukey: bool) -> None:
    import waitress
    app = _app(deploy=True)
    port = config.port()
    stack = _demo_ukey(host, port) if demo_ukey else None
    click.echo(f"网上业务大厅已启动：http://{host}:{port}/ （中心入口 /centre/login）")
    click.echo(f"示范登录账号见 {config.instance_dir() / 'demo.json'}")
    try:
        waitress.serve(app, host=host, port=port, threads=8, _quiet=True)
    finally:
        if stack is not None:
            stack.stop()


def _demo_ukey(host: str, port: int):
    """pcscd, the first demo unit's virtual UKey and the UKey agent, stopped with the hall
    (SIGTERM too, not only Ctrl-C)."""
    import json
    import signal

    from .ukey.stack import DemoStack, StackError
    demo = config.instance_dir() / "demo.json"
    unit = json.loads(demo.read_text("utf-8"))["units"][0] if demo.exists() else {}
    if "ukey" not in unit:
        raise click.ClickException("没有示范 UKey：请先运行 hpf seed-demo")
    origins = [f"http://{host}:{port}"] + ([f"http://localhost:{port}"]
                                           if host == "127.0.0.1" else [])
    stack = DemoStack(unit["ukey"], origins, config.ukey_agent_port())
    try:
        stack.start()
    except StackError as exc:
        raise click.ClickException(str(exc)) from exc
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"示范 UKey 已插入虚拟读卡器：{unit['name']}（PIN {unit['ukey']['pin']}）；"
               f"UKey 助手 http://127.0.0.1:{config.ukey_agent_port()}")
    return stack


@main.command("issue-ukey", help="为单位签发 UKey 证书（原有证书随即注销）")
@click.argument("unit_account")
@click.option("--pin", default=None, help="初始 PIN 码（默认随机 6 位数字）")
def issue_ukey(unit_account: str, pin: str | None) -> None:
    from pathlib import Path

    from services.db import db
    from services.errors import HallError
    from services.ukey.registry import issue_ukey as issue
    app = _app()
    with app.app_context():
        try:
            issued = issue(unit_account, Path(app.config["UKEY_CA_DIR"]),
                           Path(app.config["INSTANCE_DIR"]) / "ukeys", pin=pin)
            db.session.commit()
        except HallError as exc:
            raise click.ClickException(exc.message) from exc
    if issued.revoked_serial:
        click.echo(f"原 UKey 证书 {issued.revoked_serial} 已注销")
    click.echo(f"已为 {issued.unit_name}（单位账号 {issued.unit_account}）签发 UKey 证书 "
               f"{issued.serial}，有效期至 {issued.not_after:%Y-%m-%d}")
    click.echo(f"卡内私钥：{issued.key_file}\n证书：{issued.certificate_file}\n"
               f"初始 PIN：{issued.pin}")


@main.command("revoke-ukey", help="注销单位的 UKey 证书（挂失），此后不能再用于登录")
@click.argument("unit_account")
@click.option("--reason", default="挂失注销")
def revoke_ukey(unit_account: str, reason: str) -> None:
    from services.db import db
    from services.errors import HallError
    from services.ukey.registry import revoke_ukey as revoke
    app = _app()
    with app.app_context():
        try:
            revoked = revoke(unit_account, reason)
            db.session.commit()
        except HallError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"单位账号 {unit_account} 的 UKey 证书 {revoked.serial} 已注销")


@main.command("db-revision", help="根据模型生成新的迁移脚本（开发用）")
@click.argument("message")
def db_revision(message: str) -> None:
    from .migrate import revision
    app = _app()
    revision(app.config["SQLALCHEMY_DATABASE_URI"], message)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)
