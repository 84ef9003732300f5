from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from issuance.apis import ERRORS
from settlement.selectors import daily_totals
from zhongtai.core.params import param_choice, param_date
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of

_KIND_ROW = {
    "count": serializers.IntegerField(help_text="蓝票张数"),
    "amount": serializers.DecimalField(max_digits=16, decimal_places=2, help_text="蓝票金额"),
    "redCount": serializers.IntegerField(help_text="红票张数"),
    "redAmount": serializers.DecimalField(max_digits=16, decimal_places=2, help_text="红票金额（负数）"),
}


class DailyTotalsApi(APIView):
    permission_classes = [IsInterfaceClient]

    @extend_schema(
        operation_id="reconciliation_daily",
        summary="日对账：按票据种类汇总张数与金额",
        parameters=[
            OpenApiParameter("date", str, required=True, description="日期 YYYY-MM-DD"),
            OpenApiParameter(
                "basis", str, enum=["issue", "business"], description="issue 按开票日期（默认），business 按业务日期"
            ),
        ],
        responses={
            200: inline_serializer(
                "DailyTotals",
                {
                    "date": serializers.DateField(),
                    "basis": serializers.CharField(),
                    "unitCode": serializers.CharField(),
                    "kinds": inline_serializer(
                        "DailyTotalsKind",
                        {"kindCode": serializers.CharField(), "kindName": serializers.CharField(), **_KIND_ROW},
                        many=True,
                    ),
                    "total": inline_serializer(
                        "DailyTotalsSum",
                        {**_KIND_ROW, "netAmount": serializers.DecimalField(max_digits=16, decimal_places=2)},
                    ),
                },
            ),
            **ERRORS,
        },
        tags=["对账"],
    )
    def get(self, request: Request) -> Response:
        day = param_date(request.query_params, "date")
        basis = param_choice(request.query_params, "basis", choices=("issue", "business"), default="issue")
        assert day is not None
        return Response(
            daily_totals(
                unit=principal_of(request).unit,
                day=day,
                basis=basis,  # type: ignore[arg-type]
                sandbox=request.auth.sandbox,
            )
        )
