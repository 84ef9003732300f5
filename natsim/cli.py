"""``python -m natsim``: serve, province-add, seed-foreign (docs/national.md)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from natsim import protocol
from natsim.control import ControlError
from natsim.server import province_files_check, serve
from natsim.store import ProvinceRegistry


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(options: argparse.Namespace) -> int:
    if options.control and not _loopback(options.host):
        print("错误：控制接口（--control）只能在本机地址（127.0.0.1）上开启。", file=sys.stderr)
        return 2
    serve(
        data_dir=Path(options.data),
        host=options.host,
        port=options.port,
        control=options.control,
        parent_pid=options.parent_pid,
    )
    return 0


def _province_add(options: argparse.Namespace) -> int:
    if not protocol.PROVINCE_RE.match(options.code):
        print("错误：--code 必须是省级 6 位区划代码（如 430000）。", file=sys.stderr)
        return 2
    secret = options.secret
    if options.secret_file:
        secret = Path(options.secret_file).read_text("utf-8").strip()
    if not secret or len(secret) < 8:
        print("错误：共享密钥（--secret 或 --secret-file）至少 8 个字符。", file=sys.stderr)
        return 2
    try:
        root = Path(options.root).read_bytes()
        extra = b"".join(Path(path).read_bytes() for path in options.ca)
        province_files_check(root, extra)
    except OSError as exc:
        print(f"错误：无法读取证书文件：{exc}", file=sys.stderr)
        return 2
    except ControlError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    ProvinceRegistry(Path(options.data)).add(code=options.code, secret=secret, root_pem=root, extra_ca_pem=extra)
    print(f"已登记省份 {options.code}（根证书 {options.root}）。")
    return 0


def _seed_foreign(options: argparse.Namespace) -> int:
    from natsim.seed import seed_foreign

    if not 6 <= options.count <= 500:
        print("错误：--count 必须在 6 到 500 之间。", file=sys.stderr)
        return 2
    seed_foreign(data_dir=Path(options.data), count=options.count, out=sys.stdout)
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="python -m natsim", description="全国财政电子票据平台模拟器")
    commands = main_parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="启动模拟器（HTTP 服务）")
    serve_parser.add_argument("--data", required=True, help="数据目录（SQLite 文件与省份登记）")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8700, help="端口，0 表示任选一个空闲端口")
    serve_parser.add_argument("--control", action="store_true", help="开启控制接口（仅测试与演示）")
    serve_parser.add_argument(
        "--parent-pid", type=int, default=None, help="该进程结束时模拟器随之退出（测试用，防止遗留进程）"
    )
    serve_parser.set_defaults(run=_serve)
    add = commands.add_parser("province-add", help="登记一个省份：共享密钥与根 CA 证书")
    add.add_argument("--data", required=True)
    add.add_argument("--code", required=True, help="省级区划代码，如 430000")
    add.add_argument("--secret", help="共享密钥（HMAC-SHA256）")
    add.add_argument("--secret-file", help="从文件读取共享密钥（代替 --secret）")
    add.add_argument("--root", required=True, help="该省根 CA 证书（PEM）")
    add.add_argument("--ca", nargs="*", default=[], help="可选：该省的签发 CA 证书（PEM），作为证书链的中间环节")
    add.set_defaults(run=_province_add)
    seed = commands.add_parser("seed-foreign", help="存入外省（湖北、广东）的演示票据，供跨省查验")
    seed.add_argument("--data", required=True)
    seed.add_argument("--count", type=int, default=20, help="每省票据张数（默认 20）")
    seed.set_defaults(run=_seed_foreign)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    return int(options.run(options))
