"""Serializers that describe the interface for the OpenAPI schema.

Requests are parsed by :mod:`issuance.payload` (fast, one error code per rule);
these classes document the same fields, and ``tests/issuance/test_schema_sync.py``
keeps the two in step.
"""

from __future__ import annotations

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="稳定的错误码，见 docs/api.md")
    message = serializers.CharField(help_text="中文错误说明")
    extra = serializers.DictField(help_text="附加信息，如字段错误 fields、规则错误 errors")


class PayerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=[1, 2], help_text="1 个人，2 单位")
    name = serializers.CharField(max_length=100, help_text="交款人名称")
    code = serializers.CharField(max_length=40, required=False, help_text="证件号码或统一社会信用代码")
    phone = serializers.CharField(max_length=20, required=False)
    email = serializers.EmailField(max_length=100, required=False)
    account = serializers.CharField(max_length=40, required=False)
    bank = serializers.CharField(max_length=100, required=False)


class ItemInputSerializer(serializers.Serializer):
    itemCode = serializers.CharField(max_length=32, help_text="收费项目编码")
    itemName = serializers.CharField(max_length=100, required=False, help_text="须与收费项目库一致")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=4, help_text="数量，> 0")
    standard = serializers.DecimalField(max_digits=16, decimal_places=4, help_text="收费标准（单价）")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="金额 = 数量 × 标准（四舍五入到分）")
    remark = serializers.CharField(max_length=200, required=False)


class IssueRequestSerializer(serializers.Serializer):
    busNo = serializers.RegexField(r"^[A-Za-z0-9_\-]{1,64}$", help_text="业务流水号（幂等键）")
    busDate = serializers.DateField(required=False, help_text="业务日期，默认开票当日")
    kindCode = serializers.RegexField(r"^\d{4}$", help_text="票据种类编码（分类码 + 种类码）")
    issuingPointCode = serializers.CharField(max_length=20, required=False, help_text="开票点编码")
    payer = PayerSerializer()
    items = ItemInputSerializer(many=True)
    totalAmount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="合计金额")
    payMode = serializers.CharField(max_length=20, required=False, help_text="缴款方式")
    handlingPerson = serializers.CharField(max_length=40, required=False, help_text="收款人")
    checker = serializers.CharField(max_length=40, required=False, help_text="复核人")
    remark = serializers.CharField(max_length=500, required=False)
    ext = serializers.DictField(required=False, help_text="票据种类专属字段，见 docs/api.md")


class BatchRequestSerializer(serializers.Serializer):
    receipts = IssueRequestSerializer(many=True, help_text="1-500 张开票请求")


class ReceiptSummarySerializer(serializers.Serializer):
    receiptCode = serializers.CharField()
    receiptNumber = serializers.CharField()
    checkCode = serializers.CharField()
    kindCode = serializers.CharField()
    busNo = serializers.CharField(allow_null=True)
    busDate = serializers.DateField()
    issueDate = serializers.DateField()
    issuedAt = serializers.DateTimeField()
    status = serializers.CharField()
    statusLabel = serializers.CharField()
    isRed = serializers.BooleanField()
    signStatus = serializers.ChoiceField(
        choices=["pending", "awaiting_unit", "signed", "failed"],
        help_text="签章状态：pending 待签章，awaiting_unit 待单位签名，signed 已签章（单位签名与财政监制签名均完成）",
    )
    payerName = serializers.CharField()
    totalAmount = serializers.DecimalField(max_digits=14, decimal_places=2)


class ItemOutputSerializer(serializers.Serializer):
    lineNo = serializers.IntegerField()
    itemCode = serializers.CharField()
    itemName = serializers.CharField()
    unit = serializers.CharField()
    quantity = serializers.CharField()
    standard = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    remark = serializers.CharField()


class PartySerializer(serializers.Serializer):
    name = serializers.CharField()
    account = serializers.CharField()
    bank = serializers.CharField()


class RelatedReceiptSerializer(serializers.Serializer):
    receiptCode = serializers.CharField()
    receiptNumber = serializers.CharField()


class ReceiptDetailSerializer(ReceiptSummarySerializer):
    kindName = serializers.CharField()
    unitCode = serializers.CharField()
    unitName = serializers.CharField()
    issuingPointCode = serializers.CharField()
    regionCode = serializers.CharField()
    payer = PayerSerializer()
    payee = PartySerializer()
    items = ItemOutputSerializer(many=True)
    totalAmountUpper = serializers.CharField(help_text="合计金额大写")
    currency = serializers.CharField()
    payMode = serializers.CharField()
    handlingPerson = serializers.CharField()
    checker = serializers.CharField()
    remark = serializers.CharField()
    ext = serializers.DictField()
    relatedReceipt = RelatedReceiptSerializer(allow_null=True)
    sandbox = serializers.BooleanField(help_text="联调测试票据（仅供测试，无效）；只有联调测试凭证能看到")


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="请求在 receipts 数组中的序号（从 0 开始）")
    busNo = serializers.CharField(allow_null=True)
    result = serializers.ChoiceField(choices=["created", "existing", "failed"])
    receipt = ReceiptSummarySerializer(allow_null=True)
    error = ErrorSerializer(allow_null=True)


class BatchResponseSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchResultSerializer(many=True)
    batchId = serializers.CharField(
        allow_null=True,
        help_text="本次新开票据组成的批次编号（GET /api/v1/batches/{batchId} 查询签章进度，"
        "全部签章结束后回调 batch.completed）；未新开票据时为 null",
    )


class ReceiptPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pageSize = serializers.IntegerField()
    results = ReceiptSummarySerializer(many=True)
