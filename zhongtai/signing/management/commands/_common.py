"""Helpers shared by the signing commands (a leading underscore keeps Django from listing it)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from zhongtai.masterdata.models import Region


def province_get(code: str | None) -> Region:
    """The province region given by ``code``, or the platform's only province."""
    provinces = Region.objects.filter(level=Region.Level.PROVINCE)
    if code:
        provinces = provinces.filter(code=code)
    found = list(provinces[:2])
    if not found:
        raise CommandError(f"找不到省级区划{f' {code}' if code else ''}，请先导入基础数据。")
    if len(found) > 1:
        raise CommandError("有多个省级区划，请用 --region 指定。")
    return found[0]


def read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"无法读取文件 {path}：{exc.strerror}") from exc


def write_file(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise CommandError(f"无法写入文件 {path}：{exc.strerror}") from exc
