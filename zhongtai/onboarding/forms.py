"""Forms of the onboarding pages: they parse input into the services' arguments, nothing more."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone

from zhongtai.masterdata.models import Region
from zhongtai.onboarding.models import DEADLINE_STAGES, Application
from zhongtai.onboarding.services import ConnectionDetails, Details, GoLiveDetails, PaperStopDetails
from zhongtai.onboarding.unit_import import MAX_BYTES

_DATE = forms.DateInput(attrs={"type": "date"})
_REMARK = forms.Textarea(attrs={"rows": 3})


class _NotPast:
    def clean_planned_date(self) -> datetime.date:
        value = self.cleaned_data["planned_date"]  # type: ignore[attr-defined]
        if value < timezone.localdate():
            raise forms.ValidationError("日期不能早于今天。")
        return value


class ConnectionForm(_NotPast, forms.Form):
    system_name = forms.CharField(label="收费系统名称", max_length=100, help_text="如：医院信息系统（HIS）")
    system_vendor = forms.CharField(label="系统开发商", max_length=100)
    tech_contact = forms.CharField(label="技术联系人", max_length=40)
    tech_phone = forms.CharField(label="技术联系电话", max_length=30)
    expected_daily_volume = forms.IntegerField(label="预计日开票量（张）", min_value=1, max_value=10_000_000)
    planned_date = forms.DateField(label="计划上线日期", widget=_DATE)
    key_custody = forms.ChoiceField(
        label="签名密钥保管方式",
        choices=Application.KeyCustody.choices,
        widget=forms.RadioSelect,
        help_text="单位自持：单位在本地用 USB Key 或加密机签名；平台托管：由平台代为保管单位签名密钥。",
    )
    remark = forms.CharField(label="申请说明", max_length=1000, required=False, widget=_REMARK)

    def details(self) -> Details:
        return ConnectionDetails(**self.cleaned_data)


class GoLiveForm(_NotPast, forms.Form):
    planned_date = forms.DateField(label="计划上线日期", widget=_DATE)
    remark = forms.CharField(label="申请说明", max_length=1000, required=False, widget=_REMARK)

    def details(self) -> Details:
        return GoLiveDetails(**self.cleaned_data)


class PaperStopForm(_NotPast, forms.Form):
    planned_date = forms.DateField(label="停用纸质票据日期", widget=_DATE)
    remark = forms.CharField(label="申请说明", max_length=1000, required=False, widget=_REMARK)

    def details(self) -> Details:
        return PaperStopDetails(**self.cleaned_data)


FORM_OF_KIND: dict[str, type[forms.Form]] = {
    Application.Kind.CONNECTION: ConnectionForm,
    Application.Kind.GO_LIVE: GoLiveForm,
    Application.Kind.PAPER_STOP: PaperStopForm,
}


def initial_of(application: Application) -> dict[str, Any]:
    """The current content of an application, to correct it for resubmission."""
    form_class = FORM_OF_KIND[application.kind]
    return {name: getattr(application, name) for name in form_class.base_fields}


class RejectForm(forms.Form):
    reason = forms.CharField(label="退回原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class DeadlineForm(forms.Form):
    stage = forms.ChoiceField(label="阶段", choices=[(s.value, s.label) for s in DEADLINE_STAGES])
    due_date = forms.DateField(label="截止日期", widget=_DATE)
    region = forms.ModelChoiceField(
        label="适用区划", queryset=Region.objects.none(), required=False, empty_label="全省"
    )

    def __init__(self, *args: Any, regions: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions.exclude(level=Region.Level.PROVINCE).order_by("code")  # type: ignore[attr-defined]


class ImportForm(forms.Form):
    file = forms.FileField(label="单位信息文件（.xlsx）")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        # Refuse a large upload before reading it; the service checks type and content.
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入。")
        return upload


class ApplicationFilterForm(forms.Form):
    kind = forms.ChoiceField(label="申请类型", choices=[("", "全部"), *Application.Kind.choices], required=False)
    status = forms.ChoiceField(label="状态", choices=[("", "全部"), *Application.Status.choices], required=False)
    q = forms.CharField(label="单位编码或名称", max_length=100, required=False)
