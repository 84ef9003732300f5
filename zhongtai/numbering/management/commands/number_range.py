from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zhongtai.audit.services import Actor
from zhongtai.core.errors import ApplicationError
from zhongtai.masterdata.models import ReceiptKind, Region, Unit
from zhongtai.numbering.models import NumberRange
from zhongtai.numbering.services import number_range_hand_down, number_range_reserve


class Command(BaseCommand):
    help = (
        "号段管理：省级预留号段、向下级区划或单位下发号段、查看号段。"
        " Number ranges: reserve at the province, hand down, list."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reserve = sub.add_parser("reserve", help="省级财政从号码序列预留号段")
        reserve.add_argument("--kind", required=True, help="票据种类编码，如 0601")
        reserve.add_argument("--year", type=int, required=True)
        reserve.add_argument("--count", type=int, required=True)
        down = sub.add_parser("hand-down", help="把号段的下一段下发给下级区划或单位")
        down.add_argument("--range", type=int, required=True, dest="range_id", help="来源号段 ID")
        down.add_argument("--count", type=int, required=True)
        target = down.add_mutually_exclusive_group(required=True)
        target.add_argument("--region", help="下级区划代码")
        target.add_argument("--unit", help="单位编码")
        listing = sub.add_parser("list", help="列出号段")
        listing.add_argument("--code", help="票据代码")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("manage.py number_range")
        try:
            if options["action"] == "reserve":
                kind = self._get(ReceiptKind, code=options["kind"])
                province = Region.objects.get(level=Region.Level.PROVINCE)
                created = number_range_reserve(
                    kind=kind, year=options["year"], count=options["count"], region=province, actor=actor
                )
                self._print(created)
            elif options["action"] == "hand-down":
                region = self._get(Region, code=options["region"]) if options["region"] else None
                unit = self._get(Unit, code=options["unit"]) if options["unit"] else None
                created = number_range_hand_down(
                    parent_id=options["range_id"],
                    count=options["count"],
                    to_region=region,
                    to_unit=unit,
                    actor=actor,
                )
                self._print(created)
            else:
                ranges = NumberRange.objects.select_related("region", "unit")
                if options["code"]:
                    ranges = ranges.filter(receipt_code=options["code"])
                for number_range in ranges:
                    self._print(number_range)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        except NumberRange.DoesNotExist as exc:
            raise CommandError("来源号段不存在。") from exc

    def _get(self, model: Any, **lookup: Any) -> Any:
        try:
            return model.objects.get(**lookup)
        except model.DoesNotExist as exc:
            raise CommandError(f"{model._meta.verbose_name} {next(iter(lookup.values()))} 不存在。") from exc

    def _print(self, number_range: NumberRange) -> None:
        self.stdout.write(
            f"#{number_range.pk} {number_range} 剩余 {number_range.remaining} 持有 {number_range.holder_label}"
        )
