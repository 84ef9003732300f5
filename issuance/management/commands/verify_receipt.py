"""``manage.py verify_receipt FILE``: verify a receipt file offline and print the verdict.

Exit codes: 0 valid, 1 invalid (the reason is printed), 2 usage error (a file that cannot be
read, a --root/--certs/--crl that is not what it should be). See docs/verification.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from issuance.verifier import (
    Check,
    TrustFileError,
    TrustSource,
    Verdict,
    receipt_file_verify,
    trust_from_database,
    trust_from_files,
)

EXIT_INVALID = 1
EXIT_USAGE = 2
_STATUS = {True: "通过", False: "失败", None: "未检查"}
_FILE_TYPES = {"xml": "XML 数据文件", "pdf": "PDF 版式文件"}


def verdict_text(verdict: Verdict, *, file: str) -> str:
    """The verdict for people: Chinese, with each check's English name."""
    lines = [
        f"票据验证结果：{'有效（VALID）' if verdict.valid else '无效（INVALID）'}",
        f"文件：{file}（{_FILE_TYPES.get(verdict.file_type, '类型不明')}）",
        f"信任来源：{verdict.trust}",
        "",
        "检查项：",
    ]
    for check in verdict.checks:
        lines.extend(_check_lines(check))
    if verdict.summary is not None:
        summary = verdict.summary
        caveat = "" if verdict.valid else "（文件所载内容，验证未通过，不可采信）"
        lines += [
            "",
            f"票据信息{caveat}：",
            f"  票据种类：{summary.kind_name}",
            f"  票据代码：{summary.receipt_code}  票据号码：{summary.number}  校验码：{summary.check_code}",
            f"  开票日期：{summary.issue_date} {summary.issue_time}",
            f"  合计金额：{summary.total_amount} 元",
            f"  交款人：{summary.payer_name}",
            f"  开票单位：{summary.unit_name}（统一社会信用代码 {summary.unit_credit_code}）",
        ]
    if not verdict.valid and verdict.failures:
        lines += ["", f"未通过的原因：{verdict.failures[0].reason}"]
    return "\n".join(lines)


def _check_lines(check: Check) -> list[str]:
    code = "" if check.ok else f" [{check.code}]"
    return [f"  [{_STATUS[check.ok]}] {check.name} {check.title}{code}", f"      {check.reason}"]


class Command(BaseCommand):
    help = (
        "离线验证财政电子票据（XML 数据文件或 PDF 版式文件）：数据文件规范、单位签名与财政监制签名、"
        "证书链、吊销状态、证书用途。Verify a receipt file offline; exit 0 valid, 1 invalid, 2 usage error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="票据文件：数据文件 einvoice.xml，或内含它的 PDF 版式文件")
        parser.add_argument(
            "--root",
            help="受信任的根 CA 证书（PEM 或 DER）。不给出时使用平台数据库中的根 CA 与证书（仅供平台运维人员）",
        )
        parser.add_argument(
            "--certs",
            nargs="+",
            action="extend",
            default=[],
            metavar="PATH",
            help="单位签名证书、财政监制章证书与签发 CA 证书：文件或目录（如 export_certificates 的输出目录）",
        )
        parser.add_argument(
            "--crl",
            nargs="+",
            action="extend",
            default=[],
            metavar="FILE",
            help="证书撤销列表（PEM 或 DER）。不给出时不检查吊销状态（数据库模式下按平台记录检查）",
        )
        parser.add_argument("--json", action="store_true", help="输出 JSON（机器可读）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {path}：{exc.strerror}", returncode=EXIT_USAGE) from exc
        verdict = receipt_file_verify(content=content, trust=self._trust(options))
        if options["json"]:
            self.stdout.write(json.dumps({"file": str(path), **verdict.as_dict()}, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(verdict_text(verdict, file=str(path)))
        if not verdict.valid:
            reason = verdict.failures[0].reason if verdict.failures else "验证未完成。"
            raise CommandError(f"票据验证未通过：{reason}", returncode=EXIT_INVALID)

    def _trust(self, options: dict[str, Any]) -> TrustSource:
        crls = [Path(item) for item in options["crl"]]
        try:
            if options["root"]:
                if not options["certs"]:
                    raise CommandError(
                        "给出 --root 时，须用 --certs 提供单位签名证书与财政监制章证书"
                        "（可用 export_certificates 导出）。",
                        returncode=EXIT_USAGE,
                    )
                return trust_from_files(
                    root=Path(options["root"]), certificates=[Path(item) for item in options["certs"]], crls=crls
                )
            if options["certs"]:
                raise CommandError(
                    "--certs 须与 --root 一起使用；不给出 --root 时从平台数据库查找证书。", returncode=EXIT_USAGE
                )
            return trust_from_database(crls=crls)
        except TrustFileError as exc:
            raise CommandError(str(exc), returncode=EXIT_USAGE) from exc
