"""Unit basic information collection (基础信息归集): the Excel template and its all-or-nothing import."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook, load_workbook

from tests.support.factories import make_credit_code
from tests.zhongtai.onboarding.conftest import login
from zhongtai.audit.models import AuditEvent
from zhongtai.masterdata.models import Region, Unit
from zhongtai.onboarding.unit_import import COLUMNS, ERROR_HEADER, HEADERS, MAX_ROWS, XLSX_CONTENT_TYPE

pytestmark = pytest.mark.django_db
URL = "/workbench/import/"
TEMPLATE_URL = "/workbench/import/template.xlsx"


def row(code: str, **overrides: Any) -> list[Any]:
    values = {
        "code": code,
        "name": f"长沙市芙蓉区单位{code[-3:]}",
        "credit_code": make_credit_code(int(code[-3:]) + 500, "430102"),
        "unit_type": "其他事业单位",
        "connection_mode": "联网单位",
        "region_code": "430102",
        "valid_from": "2026-01-01",
        "valid_to": "",
        "payee_name": "长沙市芙蓉区财政局非税收入汇缴结算户",
        "payee_account": "430102000012345678",
        "payee_bank": "中国工商银行长沙芙蓉支行",
        "contact_person": "李明",
        "contact_phone": "0731-84561234",
        "kinds": "0101",
        "fee_items": "F0001、F0002",
    }
    values.update(overrides)
    return [values[column.key] for column in COLUMNS]


def xlsx(rows: list[list[Any]], headers: list[str] | None = None, sheet: str = "单位信息") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers if headers is not None else [f"{c.header}{'*' if c.required else ''}" for c in COLUMNS])
    for values in rows:
        ws.append(values)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(client: Client, content: bytes, name: str = "units.xlsx") -> Any:
    return client.post(URL, {"file": SimpleUploadedFile(name, content, content_type=XLSX_CONTENT_TYPE)})


@pytest.fixture
def changsha_client(city_staff: Any, fee_fixed: Any, fee_range: Any, fee_medical: Any) -> Client:
    return login(city_staff)


# --- the template -------------------------------------------------------------------------------


def test_the_template_has_the_header_instructions_validations_and_the_users_regions(
    changsha_client: Client, furong: Region, province: Region
) -> None:
    Region.objects.create(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    response = changsha_client.get(TEMPLATE_URL)
    assert response.status_code == 200 and response["Content-Type"] == XLSX_CONTENT_TYPE
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames == ["填写说明", "单位信息", "区划代码", "票据种类", "收费项目"]
    data = wb["单位信息"]
    headers = [cell.value for cell in data[1]]
    assert headers[0] == "单位编码*" and headers[7] == "有效期止" and len(headers) == len(HEADERS)
    lists = [dv for dv in data.data_validations.dataValidation if dv.type == "list"]
    formulas = {dv.formula1 for dv in lists}
    assert '"行政机关,医疗机构,学校,公益组织,其他事业单位"' in formulas
    assert '"联网单位,接口单位"' in formulas
    assert any("区划代码" in f for f in formulas)
    # only Changsha's regions are offered
    assert [r[0].value for r in wb["区划代码"].iter_rows(min_row=2)] == ["430100", "430102"]
    assert "0601" in [r[0].value for r in wb["票据种类"].iter_rows(min_row=2)]
    # the instructions carry an example row
    instructions = [[c.value for c in r] for r in wb["填写说明"].iter_rows()]
    assert "填写示例" in [r[0] for r in instructions]


def test_the_templates_example_row_imports(changsha_client: Client, furong: Region) -> None:
    # given the example row of the template's instructions, typed into the data sheet
    wb = load_workbook(io.BytesIO(changsha_client.get(TEMPLATE_URL).content))
    instructions = [[c.value for c in r] for r in wb["填写说明"].iter_rows()]
    example = instructions[[r[0] for r in instructions].index("填写示例") + 2][: len(HEADERS)]

    # when it is uploaded / then the example unit is created
    response = upload(changsha_client, xlsx([example]))
    assert response.status_code == 302, response.context and response.context.get("outcome")
    assert Unit.objects.get(code="430102099").name == "长沙市芙蓉区示例服务中心"


# --- a good file --------------------------------------------------------------------------------


def test_a_good_file_imports_every_unit(changsha_client: Client, networked_unit: Unit, furong: Region) -> None:
    # given two new units and a change to an existing one
    rows = [
        row("430102101"),
        row("430102102", unit_type="学校", connection_mode="接口单位", valid_to="2030-12-31", kinds="0101、0601"),
        row(
            networked_unit.code,
            name="长沙市芙蓉区不动产登记中心（更名）",
            credit_code=networked_unit.credit_code,
            unit_type="行政机关",
            kinds="",
            fee_items="",
        ),
    ]

    # when they are uploaded
    response = upload(changsha_client, xlsx(rows))

    # then all are written, with their lists, and audited
    assert response.status_code == 302
    created = Unit.objects.get(code="430102102")
    assert (created.unit_type, created.connection_mode, str(created.valid_to)) == ("school", "interface", "2030-12-31")
    assert set(created.allowed_kinds.values_list("code", flat=True)) == {"0101", "0601"}
    assert set(created.allowed_fee_items.values_list("code", flat=True)) == {"F0001", "F0002"}
    assert created.status == Unit.Status.ACTIVE and created.region.code == "430102"
    networked_unit.refresh_from_db()
    assert networked_unit.name.endswith("（更名）") and networked_unit.unit_type == "agency"
    # an empty list cell keeps the unit's lists
    assert set(networked_unit.allowed_fee_items.values_list("code", flat=True)) == {"F0001", "F0002"}
    assert AuditEvent.objects.filter(action="masterdata.unit_import_create").count() == 2
    assert AuditEvent.objects.filter(action="masterdata.unit_import_update").count() == 1
    summary = AuditEvent.objects.get(action="onboarding.units_import")
    assert summary.data["created"] == ["430102101", "430102102"] and summary.data["updated"] == [networked_unit.code]
    page = changsha_client.get(URL)
    assert "已导入 3 个单位：新增 2 个，更新 1 个。" in page.content.decode()


def test_date_cells_and_numeric_codes_are_read_as_excel_writes_them(changsha_client: Client, furong: Region) -> None:
    import datetime

    values = row("430102103")
    values[0] = 430102103  # a code typed into a number-formatted cell
    values[6] = datetime.datetime(2026, 3, 1)
    assert upload(changsha_client, xlsx([values])).status_code == 302
    assert str(Unit.objects.get(code="430102103").valid_from) == "2026-03-01"


# --- a bad row ------------------------------------------------------------------------------------


def test_one_bad_row_imports_nothing_and_reports_row_and_column(changsha_client: Client, furong: Region) -> None:
    # given three rows, the third with a wrong credit-code check character
    bad = make_credit_code(999, "430102")
    bad = bad[:17] + ("0" if bad[17] != "0" else "1")
    rows = [row("430102201"), row("430102202"), row("430102203", credit_code=bad)]
    before = AuditEvent.objects.count()

    # when the file is uploaded
    response = upload(changsha_client, xlsx(rows))

    # then nothing is written and the page names row 4 (Excel's numbering), its column and the reason
    assert response.status_code == 400
    assert not Unit.objects.filter(code__in=["430102201", "430102202", "430102203"]).exists()
    assert AuditEvent.objects.count() == before
    errors = response.context["outcome"].errors
    assert [(e.row, e.column, e.message) for e in errors] == [(4, "统一社会信用代码", "统一社会信用代码校验位不正确。")]
    html = response.content.decode()
    assert "未写入任何数据" in html and "统一社会信用代码校验位不正确" in html

    # and the error report, downloadable as .xlsx, carries the error column
    report = changsha_client.get(response.context["error_report_url"])
    assert report.status_code == 200 and report["Content-Type"] == XLSX_CONTENT_TYPE
    wb = load_workbook(io.BytesIO(report.content))
    sheet = [[c.value for c in r] for r in wb["单位信息"].iter_rows()]
    assert sheet[0][-1] == ERROR_HEADER
    assert sheet[1][-1] is None and sheet[3][0] == "430102203"
    assert "统一社会信用代码：统一社会信用代码校验位不正确。" in sheet[3][-1]
    assert [[c.value for c in r] for r in wb["错误清单"].iter_rows(min_row=2)] == [
        [4, "统一社会信用代码", "统一社会信用代码校验位不正确。"]
    ]
    # and only its owner can download it
    assert Client().get(response.context["error_report_url"]).status_code == 302


def test_the_corrected_error_report_imports(changsha_client: Client, furong: Region) -> None:
    # given an error report (with its error column) whose bad row was corrected
    response = upload(changsha_client, xlsx([row("430102301", unit_type="医院")]))
    report = load_workbook(io.BytesIO(changsha_client.get(response.context["error_report_url"]).content))
    ws = report["单位信息"]
    ws.cell(row=2, column=4, value="医疗机构")
    buffer = io.BytesIO()
    report.save(buffer)

    # when it is uploaded again / then it imports
    assert upload(changsha_client, buffer.getvalue()).status_code == 302
    assert Unit.objects.get(code="430102301").unit_type == "hospital"


def test_every_kind_of_row_problem_is_reported(
    changsha_client: Client, furong: Region, province: Region, networked_unit: Unit
) -> None:
    Region.objects.create(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    rows = [
        row("430102401", region_code="430200"),  # outside Changsha
        row("430102402", connection_mode="网页"),
        row("430102403", valid_from="2026-02-30"),
        row("430102404", valid_from="2026-05-01", valid_to="2026-04-01"),
        row("430102405", kinds="9999"),
        row("430102406", kinds="0101", fee_items="C0105"),  # a medical item for the non-tax kind
        row("430102407", credit_code=networked_unit.credit_code),
        row("430102408", name=""),
        row("430102401", credit_code=make_credit_code(777, "430102")),  # the same code twice
    ]
    response = upload(changsha_client, xlsx(rows))
    found = {(e.row, e.column) for e in response.context["outcome"].errors}
    assert found == {
        (2, "单位编码"),
        (2, "所属区划代码"),
        (3, "接入方式"),
        (4, "有效期起"),
        (5, "有效期止"),
        (6, "可用票据种类编码"),
        (7, "可用收费项目编码"),
        (8, "统一社会信用代码"),
        (9, "单位名称"),
        (10, "单位编码"),
    }
    messages = {(e.row, e.column): e.message for e in response.context["outcome"].errors}
    assert messages[(2, "所属区划代码")] == "区划代码 430200 不存在或不在本辖区内。"
    assert "已被单位 430102002 使用" in messages[(8, "统一社会信用代码")]
    assert Unit.objects.filter(code__startswith="4301024").count() == 0


def test_a_unit_outside_the_scope_is_not_updated(make_user: Any, unit: Unit, province: Region) -> None:
    zhuzhou = Region.objects.create(code="430200", name="株洲市", level=Region.Level.CITY, parent=province)
    staff = make_user("zhuzhou_staff", "bureau_staff", region=zhuzhou)
    response = upload(
        login(staff), xlsx([row(unit.code, credit_code=unit.credit_code, region_code="430200", kinds="", fee_items="")])
    )
    errors = response.context["outcome"].errors
    assert [(e.row, e.column, e.message) for e in errors] == [(2, "单位编码", "该单位编码已被辖区外的单位使用。")]
    unit.refresh_from_db()
    assert unit.region.code == "430102"


# --- file-level refusals ----------------------------------------------------------------------------


def test_a_wrong_file_type_is_refused(changsha_client: Client) -> None:
    csv = upload(changsha_client, "单位编码,单位名称\n".encode(), name="units.csv")
    assert csv.status_code == 400 and "请上传 Excel 文件" in csv.content.decode()
    fake = upload(changsha_client, b"not a zip at all", name="units.xlsx")
    assert fake.status_code == 400 and "不是有效的 Excel" in fake.content.decode()


def test_a_header_that_does_not_match_is_refused(changsha_client: Client, furong: Region) -> None:
    headers = list(HEADERS)
    headers[1], headers[2] = headers[2], headers[1]
    response = upload(changsha_client, xlsx([row("430102501")], headers=headers))
    assert response.status_code == 400
    assert "表头与导入模板不一致" in response.content.decode()
    assert not Unit.objects.filter(code="430102501").exists()


def test_too_many_rows_and_an_empty_file_are_refused(changsha_client: Client, furong: Region) -> None:
    many = [row(f"43010{n:04d}") for n in range(MAX_ROWS + 1)]
    assert "一次最多导入" in upload(changsha_client, xlsx(many)).content.decode()
    assert "没有单位数据" in upload(changsha_client, xlsx([])).content.decode()
    assert not Unit.objects.filter(code__startswith="43010").exclude(code__in=["430102001"]).exists()


def test_a_large_file_is_refused_before_reading(changsha_client: Client) -> None:
    response = upload(changsha_client, b"0" * (5 * 1024 * 1024 + 1))
    assert response.status_code == 400 and "文件超过 5 MB" in response.content.decode()


# --- who -------------------------------------------------------------------------------------------------


def test_only_bureau_users_import(unit_admin: Any, auditor: Any, cashier: Any, furong: Region) -> None:
    for user in (unit_admin, auditor, cashier):
        client = login(user)
        assert client.get(URL).status_code == 403
        assert client.get(TEMPLATE_URL).status_code == 403
        assert upload(client, xlsx([row("430102601")])).status_code == 403
    assert not Unit.objects.filter(code="430102601").exists()


def test_a_new_networked_unit_gets_a_hosted_signing_certificate(
    changsha_client: Client, furong: Region, pki: dict[str, Any]
) -> None:
    # given the province's CA is running
    from zhongtai.signing.selectors import certificate_current_for_unit

    # when a networked and an interface unit are imported
    rows = [row("430102111"), row("430102112", connection_mode="接口单位")]
    assert upload(changsha_client, xlsx(rows)).status_code == 302

    # then the networked unit can have its receipts signed at once; the interface unit waits for
    # its connection application, where it chooses who keeps its key
    networked = certificate_current_for_unit(unit=Unit.objects.get(code="430102111"))
    assert networked is not None and networked.private_key_sealed
    assert certificate_current_for_unit(unit=Unit.objects.get(code="430102112")) is None
