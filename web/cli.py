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
    from engine.jobs import fire_timers
    app = _app()
    with app.app_context():
        count = fire_timers()
    if count is None:
        click.echo("另一个调度程序正在触发定时器，本次跳过")
    else:
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
@click.option("--host", default=None, help="监听地址（默认 HPF_HOST 或 127.0.0.1）")
@click.option("--demo-ukey", is_flag=True,
              help="同时启动 pcscd、插入示范单位的虚拟 UKey 并运行 UKey 助手（make run）")
@click.option("--production", is_flag=True,
              help="生产模式：gunicorn 多进程（PostgreSQL，设置见 README「生产部署」）")
def serve(host: str | None, demo_ukey: bool, production: bool) -> None:
    import os

    from . import serving
    host = host or os.environ.get("HPF_HOST") or "127.0.0.1"
    if production:
        problems = serving.production_problems()
        if problems:
            raise click.ClickException("；".join(problems))
        serving.run_production(host)
        return
    import waitress
    app = _app(deploy=True)
    port = config.port()
    stack = _demo_ukey(host, port) if demo_ukey else None
    _start_background_work(app)
    serving.settle_heap()
    click.echo(f"网上业务大厅已启动：http://{host}:{port}/ （中心入口 /centre/login）")
    click.echo(f"示范登录账号见 {config.instance_dir() / 'demo.json'}")
    try:
        # Idle connections cost waitress no thread, only a place under connection_limit.
        waitress.serve(app, host=host, port=port, threads=8, connection_limit=1000,
                       channel_timeout=60, _quiet=True)
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


def _start_background_work(app) -> None:
    """The embedded default's stand-ins for the broker: jobs a previous run left are
    queued again (on the in-process threads), and a thread fires due timers."""
    import threading
    import time

    from engine.jobs import fire_timers
    from services import jobs

    from .worker import timer_interval
    with app.app_context():
        if not app.config["BROKER_URL"]:
            jobs.recover()

    def timers() -> None:
        while True:
            time.sleep(timer_interval())
            with app.app_context():
                try:
                    fire_timers()
                except Exception:
                    app.logger.exception("定时器触发失败")

    threading.Thread(target=timers, name="hpf-timers", daemon=True).start()


@main.command("worker", help="启动后台任务处理进程（Celery，需设置 HPF_BROKER_URL）")
@click.option("--concurrency", "-c", default=2, show_default=True)
def worker(concurrency: int) -> None:
    from .worker import celery, queue_name
    _need_broker()
    celery.worker_main(["worker", "-Q", queue_name(), "-c", str(concurrency), "--loglevel=INFO",
                        "--without-gossip", "--without-mingle", "-n", f"hpf-{queue_name()}@%h"])


@main.command("beat", help="启动定时器调度（Celery beat，每 HPF_TIMER_INTERVAL 秒触发到期定时器）")
def beat() -> None:
    from .worker import celery
    _need_broker()
    schedule = config.instance_dir() / "celerybeat-schedule"
    celery.start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])


def _need_broker() -> None:
    import os
    if not os.environ.get("HPF_BROKER_URL"):
        raise click.ClickException("请设置 HPF_BROKER_URL（如 amqp://guest:guest@127.0.0.1:5672//）")


@main.command("job", help="查看后台任务的进度与结果（--wait 等待其结束）")
@click.argument("job_id")
@click.option("--wait", is_flag=True)
def job(job_id: str, wait: bool) -> None:
    import time

    from services.db import db
    from services.models import Job
    from services.models.job import DONE, FAILED, JOB_STATES
    app = _app()
    with app.app_context():
        while True:
            row = db.session.get(Job, job_id)
            if row is None:
                raise click.ClickException("任务不存在")
            percent = 100 if row.state == DONE else (row.done * 100 // row.total if row.total else 0)
            bar = "#" * (percent // 5) + "-" * (20 - percent // 5)
            click.echo(f"\r{row.title} [{bar}] {percent:3d}% {row.done}/{row.total} "
                       f"{JOB_STATES[row.state]}", nl=False)
            if row.state in (DONE, FAILED) or not wait:
                break
            db.session.rollback()
            time.sleep(0.5)
        click.echo()
        if row.state == DONE:
            click.echo(f"结果：{row.result_json}")
        elif row.state == FAILED:
            click.echo(f"失败原因：{row.error}")
            raise SystemExit(1)


@main.command("backup", help="备份数据库到 DEST（SQLite 在线备份；PostgreSQL 用 pg_dump）")
@click.argument("dest", type=click.Path(dir_okay=False))
def backup(dest: str) -> None:
    from .backup import BackupError
    from .backup import backup as run
    url = config.database_url(config.instance_dir())
    try:
        path = run(url, dest, progress=_progress("备份"))
    except BackupError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"\n已备份 {_safe_url(url)} 到 {path}")


@main.command("restore", help="从 SRC 恢复数据库（请先停止大厅与后台任务进程）")
@click.argument("src", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="不再确认")
def restore(src: str, yes: bool) -> None:
    from .backup import BackupError
    from .backup import restore as run
    url = config.database_url(config.instance_dir())
    if not yes:
        click.confirm(f"用 {src} 覆盖 {_safe_url(url)} 的全部数据？", abort=True)
    try:
        run(url, src, progress=_progress("恢复"))
    except BackupError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"\n已从 {src} 恢复 {_safe_url(url)}")


def _progress(label: str):
    def show(done: int, total: int) -> None:
        click.echo(f"\r{label} {done * 100 // max(total, 1):3d}%", nl=False)
    return show


@main.command("seed-scale", help="生成规模测试数据：1 万单位、10 万笔已办结申请、100 万条流水")
@click.option("--units", default=10_000, show_default=True)
@click.option("--applications", default=100_000, show_default=True)
def seed_scale(units: int, applications: int) -> None:
    from services.demo import seed_demo as demo

    from .seed_scale import seed_scale as seed
    app = _app(deploy=True)
    with app.app_context():
        demo(config.instance_dir())
        figures = seed(units=units, applications=applications, echo=click.echo)
    click.echo("；".join(f"{table} {count:,}" for table, count in figures.items()))


@main.command("db-revision", help="根据模型生成新的迁移脚本（开发用）")
@click.argument("message")
def db_revision(message: str) -> None:
    from .migrate import revision
    app = _app()
    revision(app.config["SQLALCHEMY_DATABASE_URI"], message)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)
