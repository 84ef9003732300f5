"""The framework's ceiling: a signed POST that inserts one row and answers 201.

Same authentication (HMAC signature, nonce claim in Redis) and permission as the
issuance API, one INSERT of an audit row, a tiny JSON answer: what any write
endpoint of this stack costs before it does real work. Mounted only by
``config.bench_urls``.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from zhongtai.audit.services import audit_build
from zhongtai.gateway.permissions import IsInterfaceClient, principal_of


class CeilingApi(APIView):
    permission_classes = [IsInterfaceClient]

    def post(self, request: Request) -> Response:
        principal = principal_of(request)
        event = audit_build(
            actor=principal.actor,
            action="bench.ceiling",
            object_type="bench",
            object_id=principal.credential.app_id,
            unit_code=principal.unit.code,
            region_code=principal.unit.region.code,
        )
        event.save()  # one INSERT in autocommit, like a one-row service without extra reads
        return Response({"id": event.pk}, status=201)
