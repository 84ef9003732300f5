"""The provincial certificate authority: CAs, certificates, CRLs (省级电子票据 CA)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from zhongtai.masterdata.models import FinanceBureau, Region, Unit


class CertificateAuthority(models.Model):
    """A CA of the province: the root (trust anchor) or the issuing CA below it.

    Its key is the hosted key of its current certificate (``certificate``).
    """

    class Kind(models.TextChoices):
        ROOT = "root", "根 CA"
        ISSUING = "issuing", "签发 CA"

    class Status(models.TextChoices):
        ACTIVE = "active", "在用"
        RETIRED = "retired", "停用"

    region = models.ForeignKey(
        Region, verbose_name="所属区划", on_delete=models.PROTECT, related_name="certificate_authorities"
    )
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    name = models.CharField("名称", max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name="上级 CA", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    certificate = models.OneToOneField(
        "Certificate",
        verbose_name="CA 证书",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authority",
    )
    crl_number = models.PositiveBigIntegerField("最近 CRL 编号", default=0)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    class Meta:
        verbose_name = "证书认证机构（CA）"
        verbose_name_plural = "证书认证机构（CA）"
        ordering = ["region__code", "kind", "id"]
        constraints = [
            # Bootstrap is idempotent at the database level: one active root and one active issuing CA.
            models.UniqueConstraint(
                fields=["region", "kind"], condition=Q(status="active"), name="signing_one_active_ca_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(kind="root", parent__isnull=True) | Q(kind="issuing", parent__isnull=False),
                name="signing_ca_parent_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Certificate(models.Model):
    """An X.509 v3 certificate issued by the provincial CA (the CAs' own included)."""

    class Role(models.TextChoices):
        ROOT_CA = "root_ca", "根 CA 证书"
        ISSUING_CA = "issuing_ca", "签发 CA 证书"
        UNIT_SIGNATURE = "unit_signature", "单位签名证书"
        SUPERVISION_SEAL = "supervision_seal", "财政监制章证书"

    class Status(models.TextChoices):
        VALID = "valid", "有效"
        REVOKED = "revoked", "已吊销"

    class KeyCustody(models.TextChoices):
        HOSTED = "hosted", "平台托管（加密存储）"
        SUBSCRIBER = "subscriber", "单位自持（平台不保存私钥）"

    class RevocationReason(models.TextChoices):
        # Values are the asn1crypto names of the RFC 5280 CRLReason codes.
        UNSPECIFIED = "unspecified", "未指明原因"
        KEY_COMPROMISE = "key_compromise", "密钥泄露"
        CA_COMPROMISE = "ca_compromise", "CA 密钥泄露"
        AFFILIATION_CHANGED = "affiliation_changed", "单位信息变更"
        SUPERSEDED = "superseded", "证书已被取代"
        CESSATION_OF_OPERATION = "cessation_of_operation", "停止使用"

    serial_number = models.CharField("序列号（十六进制）", max_length=32, unique=True)
    role = models.CharField("证书类型", max_length=20, choices=Role.choices)
    issued_by = models.ForeignKey(
        "self",
        verbose_name="签发者证书",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issued_certificates",
        help_text="根 CA 证书为自签名，此项为空。",
    )
    unit = models.ForeignKey(
        Unit, verbose_name="单位", null=True, blank=True, on_delete=models.PROTECT, related_name="certificates"
    )
    bureau = models.ForeignKey(
        FinanceBureau,
        verbose_name="财政部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    subject = models.CharField("主体", max_length=500)
    not_before = models.DateTimeField("生效时间")
    not_after = models.DateTimeField("失效时间", db_index=True)
    der = models.BinaryField("证书（DER）")
    public_key_der = models.BinaryField("公钥（SubjectPublicKeyInfo DER）")
    key_custody = models.CharField("私钥保管方式", max_length=12, choices=KeyCustody.choices)
    private_key_sealed = models.TextField(
        "加密私钥", blank=True, help_text="以 EREC_KEK 派生密钥 AES-256-GCM 加密；单位自持私钥时为空。"
    )
    fingerprint_sm3 = models.CharField("SM3 指纹", max_length=64, unique=True)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.VALID)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revocation_reason = models.CharField("吊销原因", max_length=24, choices=RevocationReason.choices, blank=True)
    renewal_of = models.ForeignKey(
        "self",
        verbose_name="更新自",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
    )
    created_at = models.DateTimeField("签发时间", auto_now_add=True)

    class Meta:
        verbose_name = "数字证书"
        verbose_name_plural = "数字证书"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["unit", "status"], name="signing_cert_unit_status"),
            models.Index(fields=["bureau", "status"], name="signing_cert_bureau_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(role="unit_signature", unit__isnull=False, bureau__isnull=True, issued_by__isnull=False)
                    | Q(role="supervision_seal", bureau__isnull=False, unit__isnull=True, issued_by__isnull=False)
                    | Q(role="issuing_ca", unit__isnull=True, bureau__isnull=True, issued_by__isnull=False)
                    | Q(role="root_ca", unit__isnull=True, bureau__isnull=True, issued_by__isnull=True)
                ),
                name="signing_cert_holder_matches_role",
            ),
            models.CheckConstraint(condition=Q(not_after__gt=F("not_before")), name="signing_cert_validity_order"),
            models.CheckConstraint(
                condition=(
                    Q(status="valid", revoked_at__isnull=True, revocation_reason="")
                    | (Q(status="revoked", revoked_at__isnull=False) & ~Q(revocation_reason=""))
                ),
                name="signing_cert_revocation_consistent",
            ),
            models.CheckConstraint(
                condition=(
                    (Q(key_custody="hosted") & ~Q(private_key_sealed=""))
                    | Q(key_custody="subscriber", private_key_sealed="", role__in=["unit_signature"])
                ),
                name="signing_cert_key_custody_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.serial_number}"

    @property
    def is_ca(self) -> bool:
        return self.role in (self.Role.ROOT_CA, self.Role.ISSUING_CA)

    @property
    def holder_label(self) -> str:
        if self.unit_id:
            return str(self.unit)
        if self.bureau_id:
            return str(self.bureau)
        return self.subject


class RevocationList(models.Model):
    """A CRL as signed and published; kept forever so that old verifications can be replayed."""

    authority = models.ForeignKey(
        CertificateAuthority, verbose_name="签发 CA", on_delete=models.PROTECT, related_name="revocation_lists"
    )
    crl_number = models.PositiveBigIntegerField("CRL 编号")
    this_update = models.DateTimeField("本次更新")
    next_update = models.DateTimeField("下次更新")
    revoked_count = models.PositiveIntegerField("吊销条目数")
    der = models.BinaryField("CRL（DER）")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "证书撤销列表（CRL）"
        verbose_name_plural = "证书撤销列表（CRL）"
        ordering = ["-this_update", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["authority", "crl_number"], name="signing_crl_number_unique"),
            models.CheckConstraint(condition=Q(next_update__gt=F("this_update")), name="signing_crl_update_order"),
        ]

    def __str__(self) -> str:
        return f"{self.authority} CRL #{self.crl_number}"
