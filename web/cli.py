"""`hpf`: the hall's command line (INTERFACES.md)."""

from __future__ import annotations

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
        info = seed(Path(app.config["INSTANCE_DIR"]))
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


@main.command("settle-interest", help="为每个单位的职工账户结息一次（再次执行不做任何更改）")
@click.argument("year", type=click.IntRange(2000, 2999))
def settle_interest(year: int) -> None:
    from services import clock, interest
    from services.errors import HallError
    app = _app()
    with app.app_context():
        try:
            done, skipped = interest.settle(year, clock.today())
        except HallError as exc:
            raise click.ClickException(exc.message) from None
    persons = sum(s.head_count for s in done)
    total = sum((s.interest for s in done), start=0)
    click.echo(f"{year} 年度结息：{len(done)} 个单位、{persons} 人，利息合计 {total:,.2f} 元；"
               f"{skipped} 个单位此前已结息，未做任何更改")


@main.command("serve", help="启动网上业务大厅")
@click.option("--host", default="127.0.0.1")
def serve(host: str) -> None:
    import waitress
    app = _app(deploy=True)
    port = config.port()
    click.echo(f"网上业务大厅已启动：http://{host}:{port}/ （中心入口 /centre/login）")
    click.echo(f"示范登录账号见 {config.instance_dir() / 'demo.json'}")
    waitress.serve(app, host=host, port=port, threads=8, _quiet=True)


@main.command("db-revision", help="根据模型生成新的迁移脚本（开发用）")
@click.argument("message")
def db_revision(message: str) -> None:
    from .migrate import revision
    app = _app()
    revision(app.config["SQLALCHEMY_DATABASE_URI"], message)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)
