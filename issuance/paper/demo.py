"""Demo paper stock (纸质票据库存) for ``manage.py load_demo``: every demo unit holds 1,000 forms.

A bureau hands ranges of one paper code to many units; the demo does the same: the paper code
follows the e-receipt code's pattern (province, category, kind, year) of the unit's first kind,
and each unit gets the next 1,000 numbers of it. Idempotent: a unit that holds stock is skipped.
Loaded before the onboarding demo, which retires the stock of units that stopped paper.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Max
from django.utils import timezone

from issuance.paper.models import PaperStock
from issuance.paper.services import paper_stock_receive
from zhongtai.audit.services import Actor
from zhongtai.masterdata.models import Unit

FORMS_PER_UNIT = 1_000


def paper_demo_load() -> Counter[str]:
    created: Counter[str] = Counter()
    actor = Actor.system("load_demo")
    year = timezone.localdate().year % 100
    holding = set(PaperStock.objects.values_list("unit_id", flat=True))
    next_start: dict[str, int] = defaultdict(lambda: 1)
    for code, last in (
        PaperStock.objects.values("paper_code").annotate(last=Max("end_number")).values_list("paper_code", "last")
    ):
        next_start[code] = last + 1
    units = Unit.objects.filter(status=Unit.Status.ACTIVE).prefetch_related("allowed_kinds").order_by("code")
    for unit in units:
        kinds = sorted(unit.allowed_kinds.all(), key=lambda kind: kind.code)
        if unit.pk in holding or not kinds:
            continue
        paper_code = f"{unit.region.code[:2]}{kinds[0].code}{year:02d}"
        start = next_start[paper_code]
        paper_stock_receive(
            unit=unit,
            paper_code=paper_code,
            start_number=start,
            end_number=start + FORMS_PER_UNIT - 1,
            actor=actor,
            note="演示数据：财政部门下发的纸质票据",
        )
        next_start[paper_code] = start + FORMS_PER_UNIT
        created["纸质票据库存"] += 1
    return created
