"""The `qingquan` command: serve, worker, migrate, createadmin, seed-demo, check-production.

`qingquan manage …` passes anything else to Django's management commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from qingquan.core.actors import system


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    from django.core.exceptions import ImproperlyConfigured

    try:
        import django

        django.setup()
    except ImproperlyConfigured as error:
        print(f"\n{error}\n", file=sys.stderr)
        raise SystemExit(2) from error


def _print_logins(logins: Sequence[object], base_url: str) -> None:
    from qingquan.staff.demo import DemoLogin

    print("\n清泉 Qingquan demo — logins / 演示账号")
    print(f"  {base_url}/login/")
    for login in logins:
        assert isinstance(login, DemoLogin)
        print(f"  {login.username:<12} {login.password:<16} {login.role.label} ({login.full_name})")
    from qingquan.portal.demo import portal_demo_lines

    for line in portal_demo_lines(base_url):
        print(line)
    print()


def _write_logins(logins: Sequence[object]) -> None:
    from django.conf import settings

    from qingquan.staff.demo import DemoLogin

    path = settings.DATA_DIR / "demo-logins.txt"
    lines = []
    for login in logins:
        assert isinstance(login, DemoLogin)
        lines.append(f"{login.username}\t{login.password}\t{login.role.value}\t{login.full_name}")
    path.write_text("\n".join(lines) + "\n")


def cmd_serve(args: argparse.Namespace) -> None:
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    from qingquan.core import demo

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    base_url = f"http://{args.host}:{args.port}"
    if settings.QINGQUAN_EMBEDDED and settings.QINGQUAN_ENV != "production":
        call_command("migrate", interactive=False, verbosity=0)
        if not args.no_demo and not demo.demo_is_seeded():
            print("Loading demo data (first run)… / 正在载入演示数据（首次运行）…")
            logins = demo.demo_seed()
            _write_logins(logins)
            _print_logins(logins, base_url)
        elif (settings.DATA_DIR / "demo-logins.txt").exists():
            print(f"Demo logins / 演示账号: {settings.DATA_DIR / 'demo-logins.txt'}")
    if settings.QINGQUAN_ENV == "production":
        call_command("collectstatic", interactive=False, verbosity=0)
    worker = None
    if not args.no_worker and args.workers == 1:
        from qingquan.core.worker import start_in_background

        worker = start_in_background()
        print("In-process task worker started / 后台任务已在本进程启动")
    stack = None
    if args.telephony:
        stack = _start_telephony()
    _start_fake_gateways(settings, base_url)
    print(f"Qingquan 清泉 serving on {base_url}")
    try:
        _run_uvicorn(args)
    finally:
        if stack is not None:
            stack.stop()
        if worker is not None:
            # uvicorn returns after a SIGTERM's graceful shutdown: let the worker finish its
            # current task and send, too.
            worker.shutdown(timeout=30)


def _start_telephony() -> Any:
    """The IVR's SIP stack on loopback (4 lines, a seat per agent extension), if installed."""
    from qingquan.telephony import baresip

    if not baresip.available():
        print(
            "--telephony needs Debian's baresip, espeak-ng and sox "
            "(apt-get install baresip espeak-ng sox sip-tester) / 需要先安装这些软件包"
        )
        return None
    stack = baresip.demo_stack()
    stack.start()
    line = stack.line_instances[0]
    print(
        f"IVR: call sip:ivr@127.0.0.1:{line.sip_port} from a softphone "
        f"({len(stack.line_instances)} lines, {len(stack.instances) - len(stack.line_instances)}"
        " seats) / 用软电话拨打上面的地址进入电脑导航"
    )
    return stack


def _start_fake_gateways(settings: object, base_url: str) -> None:
    """Outside production, when the SMS endpoint is the local fake gateway's, run it in
    this process (the demo's messages land there and receipts come back)."""
    conf = getattr(settings, "MESSAGING", {})
    port = int(conf.get("FAKE_PORT", 8125))
    if getattr(settings, "QINGQUAN_ENV", "") == "production":
        return
    if not str(conf.get("SMS_ENDPOINT", "")).startswith(f"http://127.0.0.1:{port}/"):
        return
    from qingquan.messaging.fake import FakeGateways

    try:
        fake = FakeGateways(
            port=port,
            receipts_to=f"{base_url}/messaging/receipts",
            receipt_token=conf.get("RECEIPT_TOKEN", ""),
        ).start()
    except OSError:
        print(f"Fake SMS/WeChat gateway: port {port} is taken (already running?)")
        return
    print(f"Fake SMS/WeChat gateway / 模拟短信网关: {fake.url}/received")
    # Something for the messages inbox to take from Weibo and the Alipay life account.
    fake.social.weibo_post(
        "5012345678", "江北小王", "@宁波水务 槐树路一带水压很低，什么时候恢复？", mention=True
    )
    fake.social.weibo_post("5087654321", "海曙居民", "你好，我家水表箱盖子坏了，找谁修？")
    fake.social.alipay_post("2088102177846880", "陈**", "生活号缴费后发票在哪里下载？")


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _run_uvicorn(args: argparse.Namespace) -> None:
    import signal

    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the
    # handler it found: with the default one the process died there, before `serve` could
    # stop its in-process worker (whose heartbeat then showed as a silent worker).
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    uvicorn.run(
        "qingquan.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        proxy_headers=True,
        lifespan="off",
    )


def cmd_worker(args: argparse.Namespace) -> None:
    _setup()
    from qingquan.core.worker import run_forever

    run_forever()


def cmd_migrate(args: argparse.Namespace) -> None:
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False)


def cmd_createadmin(args: argparse.Namespace) -> None:
    _setup()
    import getpass

    from django.core.exceptions import ValidationError

    from qingquan.staff import services
    from qingquan.staff.roles import Role

    password = args.password or getpass.getpass("Password / 密码: ")
    try:
        user = services.staff_create(
            actor=system("cli"),
            username=args.username,
            full_name=args.full_name or args.username,
            role=Role.ADMINISTRATOR,
            password=password,
        )
    except ValidationError as error:
        print("; ".join(error.messages), file=sys.stderr)
        raise SystemExit(1) from error
    print(f"Administrator {user.username} created / 管理员已创建")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    _setup()
    from qingquan.core import demo

    try:
        logins = demo.demo_seed()
    except demo.DemoRefused as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(1) from error
    if logins:
        _write_logins(logins)
        _print_logins(logins, "http://127.0.0.1:8000")
    else:
        print("Demo data is already loaded / 演示数据已存在")


def cmd_check_production(args: argparse.Namespace) -> None:
    os.environ["QINGQUAN_ENV"] = "production"
    _setup()
    from django.core.management import call_command

    call_command("check", deploy=True, fail_level="WARNING")
    print("Production configuration OK / 生产配置检查通过")


def cmd_manage(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qingquan.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["qingquan manage", *args.rest])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qingquan", description="清泉 Qingquan platform")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (and a worker, by default)")
    serve.add_argument("--host", default=os.environ.get("QINGQUAN_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("QINGQUAN_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1, help="web processes (default 1)")
    serve.add_argument("--no-worker", action="store_true", help="do not run tasks in-process")
    serve.add_argument("--no-demo", action="store_true", help="do not load demo data")
    serve.add_argument(
        "--telephony",
        action="store_true",
        help="also run the IVR's SIP stack on loopback (baresip lines and agent seats)",
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("worker", help="run a background task worker").set_defaults(func=cmd_worker)
    sub.add_parser("migrate", help="create or update the database").set_defaults(func=cmd_migrate)

    admin = sub.add_parser("createadmin", help="create an administrator account")
    admin.add_argument("username")
    admin.add_argument("--full-name", default="")
    admin.add_argument("--password", default="", help="prompted for when omitted")
    admin.set_defaults(func=cmd_createadmin)

    sub.add_parser("seed-demo", help="load the demo data").set_defaults(func=cmd_seed_demo)
    sub.add_parser("check-production", help="check the configuration for production").set_defaults(
        func=cmd_check_production
    )

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
