"""The demo province of Hunan (演示数据), as plain data for ``manage.py load_demo``.

Region codes are the real administrative division codes. Unit names are plausible
but generic; credit codes are synthetic (their check characters are computed, see
``load_demo``). Approval document numbers (批准文号) are illustrative demo values,
except the State Council's 《诉讼费用交纳办法》 (国务院令第481号) and the national
real-estate registration fee notice (发改价格规〔2016〕2559号). Receipt category and
kind codes other than 01/01 (non-tax) and 06/01, 06/02 (medical), which appear in
public samples, are this demo's choice.

Everything here is for demonstration only: the password, the TOTP secrets and the API
secret below are public and must never be used outside a demo.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

DEMO_PASSWORD = "Demo@2026"
DEMO_RECEIPTS_DEFAULT = 2000
DEMO_ACTOR = "load_demo"


# --- Regions and bureaus ---------------------------------------------------------


@dataclass(frozen=True)
class CitySpec:
    code: str
    name: str
    phone_area: str
    counties: tuple[tuple[str, str], ...]

    @property
    def bureau_name(self) -> str:
        return f"{self.name}财政局"

    @property
    def short_name(self) -> str:
        """长沙 for 长沙市, 湘西 for 湘西土家族苗族自治州: as in company names."""
        return self.name.removesuffix("土家族苗族自治州").removesuffix("市")


PROVINCE_CODE = "430000"
PROVINCE_NAME = "湖南省"
PROVINCE_BUREAU = "湖南省财政厅"
PROVINCE_PHONE_AREA = "0731"

CITIES: tuple[CitySpec, ...] = (
    CitySpec(
        "430100",
        "长沙市",
        "0731",
        (("430102", "芙蓉区"), ("430103", "天心区"), ("430104", "岳麓区"), ("430181", "浏阳市")),
    ),
    CitySpec("430200", "株洲市", "0731", (("430202", "荷塘区"), ("430211", "天元区"), ("430281", "醴陵市"))),
    CitySpec("430300", "湘潭市", "0731", (("430302", "雨湖区"), ("430304", "岳塘区"), ("430381", "湘乡市"))),
    CitySpec("430400", "衡阳市", "0734", (("430408", "蒸湘区"), ("430412", "南岳区"), ("430481", "耒阳市"))),
    CitySpec("430500", "邵阳市", "0739", (("430502", "双清区"), ("430503", "大祥区"), ("430581", "武冈市"))),
    CitySpec("430600", "岳阳市", "0730", (("430602", "岳阳楼区"), ("430626", "平江县"), ("430681", "汨罗市"))),
    CitySpec("430700", "常德市", "0736", (("430702", "武陵区"), ("430703", "鼎城区"), ("430781", "津市市"))),
    CitySpec("430800", "张家界市", "0744", (("430802", "永定区"), ("430811", "武陵源区"))),
    CitySpec("430900", "益阳市", "0737", (("430902", "资阳区"), ("430903", "赫山区"), ("430981", "沅江市"))),
    CitySpec("431000", "郴州市", "0735", (("431002", "北湖区"), ("431003", "苏仙区"), ("431081", "资兴市"))),
    CitySpec("431100", "永州市", "0746", (("431102", "零陵区"), ("431103", "冷水滩区"), ("431124", "道县"))),
    CitySpec("431200", "怀化市", "0745", (("431202", "鹤城区"), ("431222", "沅陵县"), ("431281", "洪江市"))),
    CitySpec("431300", "娄底市", "0738", (("431302", "娄星区"), ("431322", "新化县"), ("431381", "冷水江市"))),
    CitySpec(
        "433100", "湘西土家族苗族自治州", "0743", (("433101", "吉首市"), ("433123", "凤凰县"), ("433127", "永顺县"))
    ),
)


# --- Receipt kinds ---------------------------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    category_code: str
    kind_code: str
    name: str
    specimen_code: str
    required_fields: tuple[str, ...] = ()
    is_medical: bool = False
    # 会计档案管理办法: accounting vouchers, receipts among them, are kept 30 years.
    retention_years: int = 30

    @property
    def code(self) -> str:
        return f"{self.category_code}{self.kind_code}"


KIND_NONTAX = "0101"
KIND_COURT = "0102"
KIND_FINE = "0103"
KIND_TRANSFER = "0201"
KIND_DONATION = "0301"
KIND_MEMBERSHIP = "0401"
KIND_SOCIAL_INSURANCE = "0501"
KIND_OUTPATIENT = "0601"
KIND_INPATIENT = "0602"
KIND_HOUSING_FUND = "0701"

# Categories: 01 non-tax revenue (court fees and fines are non-tax revenue too),
# 02 settlement, 03 donation, 04 membership, 05 social insurance, 06 medical, 07 other.
KINDS: tuple[KindSpec, ...] = (
    KindSpec("01", "01", "非税收入统一票据", "FS0101"),
    KindSpec("01", "02", "人民法院诉讼费专用票据", "SS0102", ("payer.code", "caseNumber")),
    KindSpec("01", "03", "罚款统一收据", "FK0103", ("decisionNumber",)),
    KindSpec("02", "01", "行政事业单位资金往来结算票据", "WL0201", ("payer.code",)),
    KindSpec("03", "01", "公益事业捐赠统一票据", "JZ0301", ("payer.code", "donationPurpose")),
    KindSpec("04", "01", "社会团体会费统一票据", "HF0401", ("membershipPeriod",)),
    KindSpec("05", "01", "社会保险基金统一收据", "SB0501", ("payer.code",)),
    KindSpec(
        "06",
        "01",
        "医疗门诊收费票据",
        "YL0601",
        ("visitNumber", "department", "medicalInsuranceType"),
        is_medical=True,
    ),
    KindSpec(
        "06",
        "02",
        "医疗住院收费票据",
        "YL0602",
        ("visitNumber", "department", "medicalInsuranceType", "admissionDate", "dischargeDate"),
        is_medical=True,
    ),
    KindSpec("07", "01", "住宅专项维修资金专用票据", "WX0701", ("houseAddress",)),
)


# --- Fee items and standards -----------------------------------------------------

DEFAULT_VALID_FROM = datetime.date(2024, 1, 1)


@dataclass(frozen=True)
class StandardSpec:
    """A charging standard: ``amount`` (fixed) or ``min_amount``..``max_amount`` (range)."""

    approval_document: str
    amount: str | None = None
    min_amount: str | None = None
    max_amount: str | None = None
    region_code: str | None = None  # None: province-wide
    valid_from: datetime.date = DEFAULT_VALID_FROM

    @property
    def is_fixed(self) -> bool:
        return self.amount is not None


def fixed(amount: str, document: str, *, region: str | None = None) -> StandardSpec:
    return StandardSpec(approval_document=document, amount=amount, region_code=region)


def span(low: str, high: str, document: str, *, region: str | None = None) -> StandardSpec:
    return StandardSpec(approval_document=document, min_amount=low, max_amount=high, region_code=region)


@dataclass(frozen=True)
class FeeItemSpec:
    code: str
    name: str
    unit_of_measure: str
    group: str
    kinds: tuple[str, ...]
    income_class: str
    fund_nature: str
    budget_subject: str
    standard: StandardSpec
    # How the demo picks quantities and prices within the standard.
    quantity: tuple[int, int] = (1, 1)
    samples: tuple[str, ...] = ()
    typical: tuple[str, str] | None = None
    typical_inpatient: tuple[str, str] | None = None
    valid_from: datetime.date = DEFAULT_VALID_FROM


MEDICAL_KINDS = (KIND_OUTPATIENT, KIND_INPATIENT)
_MEDICAL_DOC = "湘医保发〔2024〕27号"
_OPEN = "99999.99"  # no upper limit worth the name for aggregated medical categories


def _medical(
    code: str,
    name: str,
    unit_of_measure: str,
    standard: StandardSpec,
    *,
    kinds: tuple[str, ...] = MEDICAL_KINDS,
    samples: tuple[str, ...] = (),
    typical: tuple[str, str] | None = None,
    typical_inpatient: tuple[str, str] | None = None,
    quantity: tuple[int, int] = (1, 1),
) -> FeeItemSpec:
    # Hospital income is the hospital's own money: no budget revenue subject.
    return FeeItemSpec(
        code,
        name,
        unit_of_measure,
        "medical",
        kinds,
        "医疗收入",
        "单位资金",
        "",
        standard,
        quantity=quantity,
        samples=samples,
        typical=typical,
        typical_inpatient=typical_inpatient,
    )


MEDICAL_ITEMS: tuple[FeeItemSpec, ...] = (
    _medical("C0101", "一般诊疗费", "次", fixed("10.00", _MEDICAL_DOC), kinds=(KIND_OUTPATIENT,)),
    _medical(
        "C0102", "中药饮片", "剂", span("0.50", "500.00", _MEDICAL_DOC), typical=("12.00", "68.00"), quantity=(3, 7)
    ),
    _medical(
        "C0103",
        "中成药",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("18.00", "260.00"),
        typical_inpatient=("120.00", "1800.00"),
    ),
    _medical(
        "C0104",
        "西药",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("15.00", "480.00"),
        typical_inpatient=("300.00", "6800.00"),
    ),
    _medical(
        "C0105",
        "诊查费",
        "次",
        span("5.00", "100.00", _MEDICAL_DOC),
        samples=("10.00", "15.00", "20.00", "25.00", "30.00", "50.00"),
    ),
    _medical(
        "C0106", "中医辨证论治费", "次", span("10.00", "60.00", _MEDICAL_DOC), samples=("15.00", "20.00", "30.00")
    ),
    _medical(
        "C0107",
        "检查费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("25.00", "680.00"),
        typical_inpatient=("300.00", "3200.00"),
    ),
    _medical(
        "C0108",
        "化验费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("18.00", "360.00"),
        typical_inpatient=("200.00", "2400.00"),
    ),
    _medical(
        "C0109",
        "治疗费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("10.00", "420.00"),
        typical_inpatient=("150.00", "3600.00"),
    ),
    _medical(
        "C0110",
        "手术费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("80.00", "900.00"),
        typical_inpatient=("800.00", "9800.00"),
    ),
    _medical(
        "C0111",
        "麻醉费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        typical_inpatient=("260.00", "2600.00"),
    ),
    _medical(
        "C0112",
        "卫生材料费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("3.00", "180.00"),
        typical_inpatient=("80.00", "5200.00"),
    ),
    _medical(
        "C0113",
        "输血费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        typical_inpatient=("220.00", "1600.00"),
    ),
    _medical(
        "C0114",
        "床位费",
        "床日",
        span("20.00", "120.00", _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        samples=("30.00", "40.00", "50.00", "60.00", "80.00"),
    ),
    _medical(
        "C0115",
        "护理费",
        "日",
        span("10.00", "60.00", _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        samples=("16.00", "24.00", "32.00", "40.00"),
    ),
    _medical(
        "C0116",
        "输氧费",
        "小时",
        span("2.00", "10.00", _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        samples=("3.00", "4.00", "5.00"),
        quantity=(4, 48),
    ),
    _medical(
        "C0117",
        "一般医疗服务费",
        "项",
        span("0.01", "2000.00", _MEDICAL_DOC),
        typical=("5.00", "60.00"),
        typical_inpatient=("30.00", "400.00"),
    ),
    _medical(
        "C0118",
        "康复治疗费",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        typical=("30.00", "260.00"),
        typical_inpatient=("200.00", "2200.00"),
    ),
    _medical(
        "C0119",
        "院前急救费",
        "次",
        span("50.00", "300.00", _MEDICAL_DOC),
        kinds=(KIND_OUTPATIENT,),
        samples=("80.00", "120.00", "150.00"),
    ),
    _medical(
        "C0120",
        "其他住院费用",
        "项",
        span("0.01", _OPEN, _MEDICAL_DOC),
        kinds=(KIND_INPATIENT,),
        typical_inpatient=("20.00", "600.00"),
    ),
)

# Line items that a stay is billed per day for: quantity is the number of days.
PER_DAY_ITEMS = frozenset({"C0114", "C0115"})
OUTPATIENT_CONSULT_ITEM = "C0105"
OUTPATIENT_EXTRA_ITEMS = ("C0103", "C0104", "C0107", "C0108", "C0109", "C0112", "C0102", "C0106", "C0117")
INPATIENT_CORE_ITEMS = ("C0114", "C0115", "C0104", "C0107", "C0108", "C0109", "C0112")
INPATIENT_OPTIONAL_ITEMS = ("C0103", "C0117", "C0118", "C0120", "C0116", "C0113")
INPATIENT_SURGERY_ITEMS = ("C0110", "C0111")

_TREASURY = "一般公共预算"
_SPECIAL_ACCOUNT = "财政专户管理资金"
_ADMIN_FEE = "行政事业性收费"
_FINE = "罚没收入"


def _nontax(
    code: str,
    name: str,
    unit_of_measure: str,
    group: str,
    standard: StandardSpec,
    *,
    kinds: tuple[str, ...] = (KIND_NONTAX,),
    income_class: str = _ADMIN_FEE,
    fund_nature: str = _TREASURY,
    budget_subject: str = "10304",
    quantity: tuple[int, int] = (1, 1),
    samples: tuple[str, ...] = (),
    typical: tuple[str, str] | None = None,
) -> FeeItemSpec:
    return FeeItemSpec(
        code,
        name,
        unit_of_measure,
        group,
        kinds,
        income_class,
        fund_nature,
        budget_subject,
        standard,
        quantity=quantity,
        samples=samples,
        typical=typical,
    )


_PRICE_DOC_PUBLIC_SECURITY = "湘发改价费〔2019〕412号"
_PRICE_DOC_EXAM = "湘发改价费〔2022〕198号"
_PRICE_DOC_EDUCATION = "湘发改价费〔2024〕12号"
_PRICE_DOC_URBAN = "湘发改价费〔2021〕305号"
_COURT_DOC = "国务院令第481号"
_REAL_ESTATE_DOC = "发改价格规〔2016〕2559号"

PUBLIC_SECURITY_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    _nontax(code, name, uom, group, standard, budget_subject="1030401", quantity=quantity)
    for code, name, uom, group, standard, quantity in (
        ("GA001", "居民身份证工本费", "张", "id_docs", fixed("20.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA002", "临时居民身份证工本费", "张", "id_docs", fixed("10.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA003", "普通护照工本费", "本", "id_docs", fixed("120.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA004", "往来港澳通行证工本费", "本", "id_docs", fixed("60.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA005", "往来港澳通行证签注费", "次", "id_docs", fixed("15.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 2)),
        ("GA006", "机动车号牌工本费（汽车）", "副", "vehicle", fixed("100.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA007", "机动车号牌工本费（摩托车）", "副", "vehicle", fixed("35.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA008", "机动车临时号牌工本费", "张", "vehicle", fixed("5.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 2)),
        ("GA009", "机动车行驶证工本费", "本", "vehicle", fixed("10.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA010", "机动车登记证书工本费", "本", "vehicle", fixed("10.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        ("GA011", "机动车驾驶证工本费", "本", "vehicle", fixed("10.00", _PRICE_DOC_PUBLIC_SECURITY), (1, 1)),
        (
            "GA012",
            "机动车驾驶许可考试费（科目一）",
            "人·次",
            "vehicle",
            span("30.00", "50.00", _PRICE_DOC_PUBLIC_SECURITY),
            (1, 1),
        ),
        (
            "GA013",
            "机动车驾驶许可考试费（科目二）",
            "人·次",
            "vehicle",
            span("100.00", "200.00", _PRICE_DOC_PUBLIC_SECURITY),
            (1, 1),
        ),
        (
            "GA014",
            "机动车驾驶许可考试费（科目三）",
            "人·次",
            "vehicle",
            span("100.00", "200.00", _PRICE_DOC_PUBLIC_SECURITY),
            (1, 1),
        ),
    )
)

REAL_ESTATE_ITEMS: tuple[FeeItemSpec, ...] = (
    _nontax("BDC001", "住宅类不动产登记费", "件", "realestate", fixed("80.00", _REAL_ESTATE_DOC)),
    _nontax("BDC002", "非住宅类不动产登记费", "件", "realestate", fixed("550.00", _REAL_ESTATE_DOC)),
    _nontax("BDC003", "不动产权属证书工本费", "本", "realestate", fixed("10.00", _REAL_ESTATE_DOC), quantity=(1, 2)),
)

EXAM_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    _nontax(code, name, "人·科", group, standard, quantity=quantity, samples=samples)
    for code, name, group, standard, quantity, samples in (
        ("KS001", "全国大学英语四六级考试考务费", "exam_education", fixed("30.00", _PRICE_DOC_EXAM), (1, 1), ()),
        (
            "KS002",
            "全国计算机等级考试考务费",
            "exam_education",
            span("60.00", "100.00", _PRICE_DOC_EXAM),
            (1, 2),
            ("72.00", "85.00"),
        ),
        ("KS003", "普通话水平测试费", "exam_education", fixed("50.00", _PRICE_DOC_EXAM), (1, 1), ()),
        (
            "KS004",
            "中小学教师资格考试考务费",
            "exam_personnel",
            span("50.00", "80.00", _PRICE_DOC_EXAM),
            (1, 3),
            ("70.00",),
        ),
        ("KS005", "会计专业技术资格考试考务费", "exam_personnel", fixed("56.00", _PRICE_DOC_EXAM), (1, 3), ()),
        (
            "KS006",
            "高等教育自学考试考务费",
            "exam_education",
            span("30.00", "60.00", _PRICE_DOC_EXAM),
            (1, 4),
            ("40.00", "45.00"),
        ),
        (
            "KS007",
            "成人高校招生考试报名考试费",
            "exam_education",
            span("40.00", "100.00", _PRICE_DOC_EXAM),
            (1, 1),
            ("60.00", "80.00"),
        ),
        (
            "KS008",
            "硕士研究生招生考试报名考试费",
            "exam_education",
            span("150.00", "250.00", _PRICE_DOC_EXAM),
            (1, 1),
            ("180.00", "200.00"),
        ),
        (
            "KS009",
            "专业技术人员职业资格考试考务费",
            "exam_personnel",
            span("60.00", "150.00", _PRICE_DOC_EXAM),
            (1, 4),
            ("68.00", "86.00", "120.00"),
        ),
        (
            "KS010",
            "职业技能等级认定考务费",
            "exam_personnel",
            span("80.00", "300.00", _PRICE_DOC_EXAM),
            (1, 1),
            ("120.00", "180.00", "240.00"),
        ),
    )
)

EDUCATION_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    _nontax(code, name, uom, group, standard, fund_nature=_SPECIAL_ACCOUNT, samples=samples, quantity=quantity)
    for code, name, uom, group, standard, samples, quantity in (
        (
            "JY001",
            "普通高中学费",
            "人·学期",
            "high_school",
            span("700.00", "1200.00", _PRICE_DOC_EDUCATION),
            ("800.00", "900.00", "1000.00"),
            (1, 1),
        ),
        (
            "JY002",
            "普通高中住宿费",
            "人·学期",
            "high_school",
            span("300.00", "900.00", _PRICE_DOC_EDUCATION),
            ("400.00", "500.00", "600.00"),
            (1, 1),
        ),
        (
            "JY003",
            "高等职业院校学费",
            "人·学年",
            "college",
            span("3500.00", "7000.00", _PRICE_DOC_EDUCATION),
            ("4500.00", "5000.00", "5500.00", "6000.00"),
            (1, 1),
        ),
        (
            "JY004",
            "高等职业院校住宿费",
            "人·学年",
            "college",
            span("600.00", "1500.00", _PRICE_DOC_EDUCATION),
            ("800.00", "1000.00", "1200.00"),
            (1, 1),
        ),
        (
            "JY005",
            "普通本科高校学费",
            "人·学年",
            "university",
            span("4500.00", "6500.00", _PRICE_DOC_EDUCATION),
            ("5000.00", "5600.00", "6000.00"),
            (1, 1),
        ),
        (
            "JY006",
            "普通本科高校住宿费",
            "人·学年",
            "university",
            span("800.00", "1500.00", _PRICE_DOC_EDUCATION),
            ("900.00", "1200.00"),
            (1, 1),
        ),
        (
            "JY007",
            "公办幼儿园保育教育费",
            "人·月",
            "kindergarten",
            span("150.00", "600.00", _PRICE_DOC_EDUCATION),
            ("260.00", "320.00", "380.00"),
            (1, 5),
        ),
        (
            "JY008",
            "研究生教育学费",
            "人·学年",
            "university",
            fixed("8000.00", _PRICE_DOC_EDUCATION),
            (),
            (1, 1),
        ),
        (
            "JY009",
            "课程重修费",
            "学分",
            "college",
            span("40.00", "100.00", _PRICE_DOC_EDUCATION),
            ("50.00", "60.00", "80.00"),
            (2, 6),
        ),
        (
            "JY010",
            "高职单独招生考试报名考试费",
            "人",
            "college",
            span("100.00", "200.00", _PRICE_DOC_EDUCATION),
            ("120.00", "150.00"),
            (1, 1),
        ),
    )
)

COURT_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    _nontax(code, name, "件", "court_fee", standard, kinds=(KIND_COURT,), samples=samples, typical=typical)
    for code, name, standard, samples, typical in (
        ("SF001", "财产案件受理费", span("50.00", "9999999.99", _COURT_DOC), (), ("50.00", "28000.00")),
        ("SF002", "离婚案件受理费", span("50.00", "300.00", _COURT_DOC), ("50.00", "150.00", "300.00"), None),
        ("SF003", "侵害人格权案件受理费", span("100.00", "500.00", _COURT_DOC), ("100.00", "300.00"), None),
        ("SF004", "劳动争议案件受理费", fixed("10.00", _COURT_DOC), (), None),
        ("SF005", "知识产权民事案件受理费", span("500.00", "1000.00", _COURT_DOC), ("500.00", "800.00"), None),
        ("SF006", "行政案件受理费（商标、专利、海事）", fixed("100.00", _COURT_DOC), (), None),
        ("SF007", "行政案件受理费（其他）", fixed("50.00", _COURT_DOC), (), None),
        ("SF008", "申请执行费", span("50.00", "9999999.99", _COURT_DOC), (), ("50.00", "12000.00")),
        ("SF009", "申请保全措施费", span("30.00", "5000.00", _COURT_DOC), (), ("30.00", "5000.00")),
        ("SF010", "申请支付令费", span("10.00", "999999.99", _COURT_DOC), (), ("20.00", "3000.00")),
        ("SF011", "申请公示催告费", fixed("100.00", _COURT_DOC), (), None),
        ("SF012", "申请撤销仲裁裁决或者认定仲裁协议效力费", span("50.00", "400.00", _COURT_DOC), ("400.00",), None),
        ("SF013", "破产案件申请费", span("50.00", "300000.00", _COURT_DOC), (), ("5000.00", "120000.00")),
    )
)

# Fines go into the treasury under 一般罚没收入; the "standard" is the legal range.
FINE_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    _nontax(
        code,
        name,
        "次",
        group,
        standard,
        kinds=(KIND_FINE,),
        income_class=_FINE,
        budget_subject="1030501",
        samples=samples,
        typical=typical,
    )
    for code, name, group, standard, samples, typical in (
        (
            "FM001",
            "道路交通安全违法行为罚款",
            "traffic_fine",
            span("20.00", "2000.00", "《中华人民共和国道路交通安全法》"),
            ("50.00", "100.00", "150.00", "200.00"),
            None,
        ),
        (
            "FM002",
            "市场监督管理行政处罚罚款",
            "market_fine",
            span("100.00", "5000000.00", "《中华人民共和国行政处罚法》"),
            (),
            ("500.00", "30000.00"),
        ),
        (
            "FM003",
            "城市管理行政处罚罚款",
            "urban_fine",
            span("50.00", "100000.00", "《中华人民共和国行政处罚法》"),
            ("100.00", "200.00", "500.00", "1000.00"),
            None,
        ),
        (
            "FM004",
            "安全生产行政处罚罚款",
            "safety_fine",
            span("1000.00", "2000000.00", "《中华人民共和国安全生产法》"),
            (),
            ("2000.00", "50000.00"),
        ),
        (
            "FM005",
            "卫生健康行政处罚罚款",
            "health_fine",
            span("50.00", "300000.00", "《中华人民共和国行政处罚法》"),
            (),
            ("200.00", "10000.00"),
        ),
        (
            "FM006",
            "生态环境行政处罚罚款",
            "eco_fine",
            span("1000.00", "1000000.00", "《中华人民共和国环境保护法》"),
            (),
            ("5000.00", "100000.00"),
        ),
        (
            "FM007",
            "加处罚款",
            "market_fine",
            span("0.01", "5000000.00", "《中华人民共和国行政强制法》"),
            (),
            ("30.00", "3000.00"),
        ),
        (
            "FM008",
            "没收违法所得",
            "market_fine",
            span("0.01", "99999999.99", "《中华人民共和国行政处罚法》"),
            (),
            ("100.00", "20000.00"),
        ),
        (
            "FM009",
            "司法罚款",
            "court_fine",
            span("100.00", "1000000.00", "《中华人民共和国民事诉讼法》"),
            ("1000.00", "5000.00", "10000.00"),
            None,
        ),
    )
)

# Donations, membership fees, transfers and housing funds are not budget revenue.
DONATION_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    FeeItemSpec(
        code,
        name,
        "笔",
        "donation",
        (KIND_DONATION,),
        "捐赠收入",
        "单位资金",
        "",
        span("0.01", "999999999.99", "《中华人民共和国公益事业捐赠法》"),
        typical=typical,
    )
    for code, name, typical in (
        ("JZ001", "货币捐赠（非定向）", ("20.00", "5000.00")),
        ("JZ002", "货币捐赠（定向）", ("100.00", "50000.00")),
        ("JZ003", "实物捐赠（折价）", ("1000.00", "200000.00")),
    )
)

MEMBERSHIP_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    FeeItemSpec(
        code,
        name,
        "年",
        "membership",
        (KIND_MEMBERSHIP,),
        "会费收入",
        "单位资金",
        "",
        span(low, high, "会员代表大会表决通过的会费标准"),
        samples=samples,
    )
    for code, name, low, high, samples in (
        ("HF001", "单位会员会费", "500.00", "5000.00", ("1000.00", "2000.00", "3000.00")),
        ("HF002", "理事单位会费", "3000.00", "10000.00", ("5000.00", "8000.00")),
        ("HF003", "常务理事单位会费", "5000.00", "20000.00", ("10000.00", "15000.00")),
        ("HF004", "副会长单位会费", "10000.00", "50000.00", ("20000.00", "30000.00")),
        ("HF005", "个人会员会费", "50.00", "300.00", ("100.00", "200.00")),
    )
)

TRANSFER_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    FeeItemSpec(
        code,
        name,
        "笔",
        "transfer",
        (KIND_TRANSFER,),
        "往来结算款",
        "代管资金",
        "",
        span("0.01", "999999999.99", "《行政事业单位资金往来结算票据使用管理暂行办法》"),
        typical=typical,
    )
    for code, name, typical in (
        ("WL001", "暂收款", ("500.00", "80000.00")),
        ("WL002", "代收代付款", ("200.00", "50000.00")),
        ("WL003", "投标保证金", ("5000.00", "200000.00")),
        ("WL004", "履约保证金", ("10000.00", "500000.00")),
        ("WL005", "押金", ("100.00", "2000.00")),
        ("WL006", "单位间往来款", ("1000.00", "300000.00")),
    )
)

SOCIAL_INSURANCE_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    FeeItemSpec(
        code,
        name,
        uom,
        "social_insurance",
        (KIND_SOCIAL_INSURANCE,),
        "社会保险费",
        "社会保险基金预算",
        "110",
        standard,
        quantity=quantity,
        samples=samples,
        valid_from=valid_from,
    )
    for code, name, uom, standard, quantity, samples, valid_from in (
        (
            "SB001",
            "城乡居民基本养老保险费",
            "人·年",
            span("200.00", "6000.00", "湘人社发〔2024〕15号"),
            (1, 1),
            ("200.00", "300.00", "500.00", "1000.00", "2000.00"),
            DEFAULT_VALID_FROM,
        ),
        (
            "SB002",
            "城乡居民基本医疗保险费（个人缴费）",
            "人·年",
            StandardSpec("湘医保发〔2024〕36号", amount="400.00", valid_from=datetime.date(2025, 1, 1)),
            (1, 1),
            (),
            datetime.date(2025, 1, 1),
        ),
        (
            "SB003",
            "灵活就业人员基本养老保险费",
            "人·月",
            span("500.00", "2500.00", "湘人社发〔2024〕15号"),
            (1, 12),
            ("880.00", "1100.00", "1320.00"),
            DEFAULT_VALID_FROM,
        ),
        (
            "SB004",
            "灵活就业人员基本医疗保险费",
            "人·月",
            span("200.00", "800.00", "湘医保发〔2024〕36号"),
            (1, 12),
            ("330.00", "410.00"),
            DEFAULT_VALID_FROM,
        ),
    )
)

HOUSING_FUND_ITEMS: tuple[FeeItemSpec, ...] = tuple(
    FeeItemSpec(
        code,
        name,
        "平方米",
        "housing_fund",
        (KIND_HOUSING_FUND,),
        "住宅专项维修资金",
        "代管资金",
        "",
        span(low, high, "建设部、财政部令第165号"),
        samples=samples,
    )
    for code, name, low, high, samples in (
        ("WX001", "住宅专项维修资金（首次交存·多层住宅）", "20.00", "80.00", ("40.00", "50.00", "60.00")),
        ("WX002", "住宅专项维修资金（首次交存·高层住宅）", "50.00", "120.00", ("70.00", "80.00", "90.00")),
        ("WX003", "住宅专项维修资金（首次交存·非住宅）", "60.00", "150.00", ("80.00", "100.00")),
        ("WX004", "住宅专项维修资金（续筹）", "10.00", "60.00", ("20.00", "30.00")),
    )
)

PUBLIC_ASSET_ITEMS: tuple[FeeItemSpec, ...] = (
    _nontax(
        "ZC001",
        "公共租赁住房租金",
        "平方米·月",
        "public_rent",
        span("5.00", "20.00", "湘建保〔2023〕41号"),
        income_class="国有资源（资产）有偿使用收入",
        budget_subject="10307",
        quantity=(30, 70),
        samples=("8.00", "10.00", "12.00"),
    ),
    _nontax(
        "ZC002",
        "行政事业单位国有资产出租收入",
        "月",
        "public_rent",
        span("100.00", "500000.00", "湘财资〔2023〕9号"),
        income_class="国有资源（资产）有偿使用收入",
        budget_subject="10307",
        quantity=(1, 12),
        typical=("800.00", "20000.00"),
    ),
    _nontax(
        "ZC003",
        "城市道路临时占用费",
        "平方米·日",
        "urban",
        span("0.50", "5.00", _PRICE_DOC_URBAN),
        income_class="国有资源（资产）有偿使用收入",
        budget_subject="10307",
        quantity=(10, 300),
        samples=("1.00", "2.00", "3.00"),
    ),
)

URBAN_ITEMS: tuple[FeeItemSpec, ...] = (
    _nontax(
        "CG001",
        "城市生活垃圾处理费（居民）",
        "户·月",
        "urban",
        span("5.00", "15.00", _PRICE_DOC_URBAN),
        quantity=(6, 12),
        samples=("8.00", "10.00"),
    ),
    _nontax(
        "CG002",
        "城市生活垃圾处理费（非居民）",
        "吨",
        "urban",
        span("30.00", "150.00", _PRICE_DOC_URBAN),
        quantity=(1, 40),
        samples=("60.00", "90.00"),
    ),
    _nontax(
        "CG003",
        "城市道路挖掘修复费",
        "平方米",
        "urban",
        span("100.00", "600.00", _PRICE_DOC_URBAN),
        quantity=(2, 80),
        samples=("180.00", "260.00", "420.00"),
    ),
)

FEE_ITEMS: tuple[FeeItemSpec, ...] = (
    MEDICAL_ITEMS
    + PUBLIC_SECURITY_ITEMS
    + REAL_ESTATE_ITEMS
    + EXAM_ITEMS
    + EDUCATION_ITEMS
    + COURT_ITEMS
    + FINE_ITEMS
    + DONATION_ITEMS
    + MEMBERSHIP_ITEMS
    + TRANSFER_ITEMS
    + SOCIAL_INSURANCE_ITEMS
    + HOUSING_FUND_ITEMS
    + PUBLIC_ASSET_ITEMS
    + URBAN_ITEMS
)

# Standards of a region override the province-wide one there (most specific wins).
REGIONAL_STANDARDS: tuple[tuple[str, StandardSpec], ...] = (
    ("C0114", span("30.00", "160.00", "长医保发〔2024〕8号", region="430100")),
    ("JY001", span("1000.00", "1500.00", "长发改价费〔2024〕21号", region="430100")),
    ("JY001", fixed("1100.00", "株发改价费〔2024〕6号", region="430200")),
    ("JY007", span("200.00", "450.00", "浏发改价费〔2024〕3号", region="430181")),
    ("ZC001", span("8.00", "22.00", "长住保发〔2024〕5号", region="430100")),
    ("ZC001", fixed("7.50", "岳住保发〔2024〕2号", region="430600")),
    ("CG001", fixed("10.00", "长发改价费〔2023〕17号", region="430100")),
)


# --- Units -----------------------------------------------------------------------

AGENCY = "agency"
HOSPITAL = "hospital"
SCHOOL = "school"
CHARITY = "charity"
OTHER = "other"
NETWORKED = "networked"
INTERFACE = "interface"

# Registration authority + institution class (GB 32100-2015, characters 1-2).
REG_AGENCY = "11"  # 机构编制 · 机关
REG_PUBLIC_INSTITUTION = "12"  # 机构编制 · 事业单位
REG_SOCIAL_GROUP = "51"  # 民政 · 社会团体


@dataclass(frozen=True)
class PointSpec:
    code: str
    name: str
    kinds: tuple[str, ...] = ()  # kinds issued here; empty: any of the unit's kinds


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    unit_type: str
    connection_mode: str
    registration: str
    kinds: tuple[str, ...]
    groups: tuple[str, ...]
    points: tuple[PointSpec, ...]
    bank: str
    numbering_mode: str = "auto"
    valid_from: datetime.date = datetime.date(2020, 1, 1)

    @property
    def region_code(self) -> str:
        return self.code[:6]


_HOSPITAL_POINTS = (
    PointSpec("MZ01", "门诊收费处", (KIND_OUTPATIENT,)),
    PointSpec("MZ02", "门诊自助缴费机", (KIND_OUTPATIENT,)),
    PointSpec("ZY01", "住院结算处", (KIND_INPATIENT,)),
)
_SMALL_HOSPITAL_POINTS = (
    PointSpec("MZ01", "门诊收费处", (KIND_OUTPATIENT,)),
    PointSpec("ZY01", "住院结算处", (KIND_INPATIENT,)),
)
_FINANCE_OFFICE = (PointSpec("CW01", "财务室"),)
_HALL = (PointSpec("CK01", "政务服务大厅收费窗口"),)
_TRAFFIC_POINTS = (
    PointSpec("CG01", "车管所业务大厅", (KIND_NONTAX,)),
    PointSpec("WF01", "违法处理窗口", (KIND_FINE,)),
)
_COURT_POINTS = (
    PointSpec("LA01", "诉讼服务中心收费窗口", (KIND_COURT,)),
    PointSpec("ZX01", "执行局财务室"),
)
_SCHOOL_POINTS = (PointSpec("CW01", "财务处收费窗口"), PointSpec("WS01", "网上缴费平台"))

_MEDICAL = ("medical",)
_TRAFFIC = ("vehicle", "traffic_fine")
_COURT = ("court_fee", "court_fine")


def _hospital(code: str, name: str, bank: str, mode: str = INTERFACE, *, small: bool = False) -> UnitSpec:
    return UnitSpec(
        code,
        name,
        HOSPITAL,
        mode,
        REG_PUBLIC_INSTITUTION,
        MEDICAL_KINDS,
        _MEDICAL,
        _SMALL_HOSPITAL_POINTS if small else _HOSPITAL_POINTS,
        bank,
    )


DEMO_API_UNIT_CODE = "430102001"
DEMO_RANGE_UNIT_CODE = "430181002"

UNITS: tuple[UnitSpec, ...] = (
    # Province-level units, supervised by 湖南省财政厅.
    _hospital("430000001", "湖南省人民医院", "中国工商银行长沙五一路支行"),
    UnitSpec(
        "430000002",
        "湖南省慈善总会",
        CHARITY,
        NETWORKED,
        REG_SOCIAL_GROUP,
        (KIND_DONATION,),
        ("donation",),
        (PointSpec("CW01", "财务部"),),
        "中国建设银行长沙芙蓉支行",
    ),
    UnitSpec(
        "430000003",
        "湖南省会计学会",
        OTHER,
        NETWORKED,
        REG_SOCIAL_GROUP,
        (KIND_MEMBERSHIP,),
        ("membership",),
        _FINANCE_OFFICE,
        "交通银行长沙分行营业部",
    ),
    UnitSpec(
        "430000004",
        "湖南省人事考试院",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("exam_personnel",),
        (PointSpec("BM01", "网上报名缴费"),),
        "中国农业银行长沙韶山路支行",
    ),
    UnitSpec(
        "430000005",
        "湖南省教育考试院",
        OTHER,
        INTERFACE,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("exam_education",),
        (PointSpec("BM01", "网上报名缴费"),),
        "中国银行长沙德雅路支行",
    ),
    UnitSpec(
        "430000006",
        "湖南省财经职业学院",
        SCHOOL,
        INTERFACE,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX, KIND_TRANSFER),
        ("college", "transfer"),
        _SCHOOL_POINTS,
        "中国建设银行长沙河西支行",
    ),
    # 长沙市
    _hospital("430100001", "长沙市中心医院", "长沙银行营业部"),
    UnitSpec(
        "430100002",
        "长沙市公安局交通警察支队",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_NONTAX, KIND_FINE),
        _TRAFFIC,
        _TRAFFIC_POINTS,
        "中国建设银行长沙天心支行",
    ),
    UnitSpec(
        "430100003",
        "长沙市不动产登记中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("realestate",),
        _HALL,
        "中国工商银行长沙芙蓉支行",
    ),
    UnitSpec(
        "430100004",
        "长沙市第一中学",
        SCHOOL,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("high_school",),
        _FINANCE_OFFICE,
        "长沙银行开福支行",
    ),
    UnitSpec(
        "430100005",
        "长沙市住宅专项维修资金管理中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_HOUSING_FUND,),
        ("housing_fund",),
        _HALL,
        "中国建设银行长沙湘江支行",
    ),
    UnitSpec(
        "430100006",
        "长沙市社会保险服务中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_SOCIAL_INSURANCE,),
        ("social_insurance",),
        _HALL,
        "中国工商银行长沙车站北路支行",
    ),
    UnitSpec(
        "430100007",
        "长沙市住房保障服务中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("public_rent",),
        _HALL,
        "长沙银行芙蓉支行",
    ),
    UnitSpec(
        "430100008",
        "长沙市城市管理和综合执法局",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_NONTAX, KIND_FINE),
        ("urban", "urban_fine"),
        (PointSpec("CK01", "行政审批窗口", (KIND_NONTAX,)), PointSpec("ZF01", "执法支队财务室", (KIND_FINE,))),
        "中国农业银行长沙岳麓支行",
    ),
    _hospital(DEMO_API_UNIT_CODE, "长沙市芙蓉区人民医院", "中国工商银行长沙芙蓉支行"),
    UnitSpec(
        "430102002",
        "长沙市芙蓉区市场监督管理局",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_FINE,),
        ("market_fine",),
        (PointSpec("ZF01", "执法大队财务室"),),
        "中国建设银行长沙芙蓉支行",
    ),
    UnitSpec(
        "430102003",
        "长沙市公安局芙蓉分局",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_NONTAX,),
        ("id_docs",),
        (PointSpec("HZ01", "户政出入境服务窗口"),),
        "中国工商银行长沙芙蓉支行",
    ),
    UnitSpec(
        "430103001",
        "长沙市天心区人民法院",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_COURT, KIND_FINE),
        _COURT,
        _COURT_POINTS,
        "中国农业银行长沙天心支行",
    ),
    UnitSpec(
        "430104001",
        "长沙市岳麓区机关事务服务中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_TRANSFER,),
        ("transfer",),
        _FINANCE_OFFICE,
        "长沙银行岳麓支行",
    ),
    _hospital("430181001", "浏阳市人民医院", "中国农业银行浏阳市支行"),
    UnitSpec(
        DEMO_RANGE_UNIT_CODE,
        "浏阳市不动产登记中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("realestate",),
        _HALL,
        "浏阳农村商业银行营业部",
        numbering_mode="range",
    ),
    UnitSpec(
        "430181003",
        "浏阳市实验幼儿园",
        SCHOOL,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("kindergarten",),
        _FINANCE_OFFICE,
        "中国建设银行浏阳支行",
    ),
    # 株洲市
    _hospital("430200001", "株洲市中心医院", "中国工商银行株洲分行营业部"),
    UnitSpec(
        "430200002",
        "株洲市第二中学",
        SCHOOL,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("high_school",),
        _FINANCE_OFFICE,
        "中国建设银行株洲芦淞支行",
    ),
    _hospital("430281001", "醴陵市人民医院", "中国农业银行醴陵市支行", small=True),
    # 湘潭市
    _hospital("430300001", "湘潭市中心医院", "中国工商银行湘潭分行营业部"),
    UnitSpec(
        "430300002",
        "湘潭市职业技术学院",
        SCHOOL,
        INTERFACE,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("college",),
        _SCHOOL_POINTS,
        "中国建设银行湘潭岳塘支行",
    ),
    # 衡阳市
    _hospital("430400001", "衡阳市中心医院", "中国工商银行衡阳分行营业部"),
    UnitSpec(
        "430400002",
        "衡阳市慈善总会",
        CHARITY,
        NETWORKED,
        REG_SOCIAL_GROUP,
        (KIND_DONATION,),
        ("donation",),
        _FINANCE_OFFICE,
        "中国银行衡阳分行营业部",
    ),
    # 邵阳市
    _hospital("430500001", "邵阳市中心医院", "中国工商银行邵阳分行营业部"),
    UnitSpec(
        "430581001",
        "武冈市不动产登记中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("realestate",),
        _HALL,
        "中国农业银行武冈市支行",
    ),
    # 岳阳市
    _hospital("430600001", "岳阳市人民医院", "中国建设银行岳阳分行营业部"),
    UnitSpec(
        "430600002",
        "岳阳市住房保障服务中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("public_rent",),
        _HALL,
        "中国工商银行岳阳分行营业部",
    ),
    _hospital("430626001", "平江县人民医院", "中国农业银行平江县支行", NETWORKED, small=True),
    # 常德市
    _hospital("430700001", "常德市第一人民医院", "中国工商银行常德分行营业部"),
    UnitSpec(
        "430700002",
        "常德市中级人民法院",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_COURT, KIND_FINE),
        _COURT,
        _COURT_POINTS,
        "中国建设银行常德武陵支行",
    ),
    # 张家界市
    _hospital("430800001", "张家界市人民医院", "中国工商银行张家界分行营业部"),
    UnitSpec(
        "430811001",
        "张家界市公安局武陵源分局交通警察大队",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_NONTAX, KIND_FINE),
        _TRAFFIC,
        _TRAFFIC_POINTS,
        "中国农业银行张家界武陵源支行",
    ),
    # 益阳市
    _hospital("430900001", "益阳市中心医院", "中国工商银行益阳分行营业部"),
    UnitSpec(
        "430900002",
        "益阳市建筑业协会",
        OTHER,
        NETWORKED,
        REG_SOCIAL_GROUP,
        (KIND_MEMBERSHIP,),
        ("membership",),
        _FINANCE_OFFICE,
        "中国建设银行益阳分行营业部",
    ),
    UnitSpec(
        "430981001",
        "沅江市社会保险服务中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_SOCIAL_INSURANCE,),
        ("social_insurance",),
        _HALL,
        "中国农业银行沅江市支行",
    ),
    # 郴州市
    _hospital("431000001", "郴州市第一人民医院", "中国工商银行郴州分行营业部"),
    UnitSpec(
        "431000002",
        "郴州市第一中学",
        SCHOOL,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("high_school",),
        _FINANCE_OFFICE,
        "中国建设银行郴州分行营业部",
    ),
    # 永州市
    _hospital("431100001", "永州市中心医院", "中国工商银行永州分行营业部"),
    UnitSpec(
        "431103001",
        "永州市冷水滩区不动产登记中心",
        OTHER,
        NETWORKED,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX,),
        ("realestate",),
        _HALL,
        "中国农业银行永州冷水滩支行",
    ),
    # 怀化市
    _hospital("431200001", "怀化市第一人民医院", "中国工商银行怀化分行营业部"),
    UnitSpec(
        "431202001",
        "怀化市鹤城区市场监督管理局",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_FINE,),
        ("market_fine",),
        (PointSpec("ZF01", "执法大队财务室"),),
        "中国建设银行怀化鹤城支行",
    ),
    # 娄底市
    _hospital("431300001", "娄底市中心医院", "中国工商银行娄底分行营业部"),
    UnitSpec(
        "431300002",
        "娄底市职业技术学院",
        SCHOOL,
        INTERFACE,
        REG_PUBLIC_INSTITUTION,
        (KIND_NONTAX, KIND_TRANSFER),
        ("college", "transfer"),
        _SCHOOL_POINTS,
        "中国银行娄底分行营业部",
    ),
    # 湘西土家族苗族自治州
    _hospital("433100001", "湘西土家族苗族自治州人民医院", "中国工商银行湘西分行营业部"),
    UnitSpec(
        "433101001",
        "吉首市慈善会",
        CHARITY,
        NETWORKED,
        REG_SOCIAL_GROUP,
        (KIND_DONATION,),
        ("donation",),
        _FINANCE_OFFICE,
        "中国农业银行吉首市支行",
    ),
    UnitSpec(
        "433123001",
        "凤凰县公安局交通警察大队",
        AGENCY,
        NETWORKED,
        REG_AGENCY,
        (KIND_NONTAX, KIND_FINE),
        _TRAFFIC,
        _TRAFFIC_POINTS,
        "中国农业银行凤凰县支行",
    ),
)

# Number ranges (号段) of the range-numbered unit: the province reserves a block of the
# year's code, hands part of it to the city, which hands part of it to the unit.
RANGE_PROVINCE_BLOCK = 10_000
RANGE_CITY_BLOCK = 5_000
RANGE_UNIT_BLOCK = 2_000

# Relative share of the demo receipts a unit issues, by (unit type, connection mode).
RECEIPT_WEIGHTS: dict[tuple[str, str], int] = {
    (HOSPITAL, INTERFACE): 12,
    (HOSPITAL, NETWORKED): 5,
    (SCHOOL, INTERFACE): 4,
    (OTHER, INTERFACE): 4,
}
RECEIPT_WEIGHT_DEFAULT = 1


# --- Accounts and API credentials ------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """A demo login. ``role`` is a zhongtai.accounts Role value; the scope is a region or a unit.

    ``totp_secret`` (base32) is a fixed, PUBLISHED demo secret for the bureau users, who must
    use a second factor: add it to an authenticator app, or print the current code with
    ``manage.py demo_totp <username>``. It is public, so it protects nothing: demo only.
    """

    username: str
    display_name: str
    role: str
    note: str
    region_code: str = ""
    unit_code: str = ""
    point_code: str = ""
    is_superuser: bool = False
    totp_secret: str = ""


# Published demo TOTP secrets: base32 of SHA-1("erec-demo-totp:<username>"), 20 bytes each.
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "admin",
        "湖南省财政厅管理员",
        "province_admin",
        "省级管理员（超级用户）",
        region_code=PROVINCE_CODE,
        is_superuser=True,
        totp_secret="SEP7OWPMFDHCRQ56MFI2M2SZ47GAP3UH",
    ),
    DemoUser(
        "hunan",
        "湖南省财政厅工作人员",
        "bureau_staff",
        "省级财政部门工作人员（审批接入与上线申请）",
        region_code=PROVINCE_CODE,
        totp_secret="IAY4GYLGOBSG5K3OD4GLGZ7LMWUFREPF",
    ),
    DemoUser(
        "changsha",
        "长沙市财政局工作人员",
        "bureau_staff",
        "市级财政部门工作人员（长沙市及下辖区县）",
        region_code="430100",
        totp_secret="SMPHQ5APWCXZJLIJO2TQB7MOXEWVOHDE",
    ),
    DemoUser(
        "furong",
        "芙蓉区财政局工作人员",
        "bureau_staff",
        "县级财政部门工作人员（芙蓉区）",
        region_code="430102",
        totp_secret="QMSPX624VYL6RX3JAQX4WIEFVWRSFSJG",
    ),
    DemoUser("auditor", "长沙市审计员", "auditor", "审计员（长沙市，只读）", region_code="430100"),
    DemoUser("unitadmin", "芙蓉分局票据管理员", "unit_admin", "单位管理员（联网单位）", unit_code="430102003"),
    DemoUser(
        "cashier", "芙蓉分局收费员", "cashier", "收费员（户政出入境服务窗口）", unit_code="430102003", point_code="HZ01"
    ),
    DemoUser("cashier2", "天心区法院收费员", "cashier", "收费员（联网单位）", unit_code="430103001"),
)

DEMO_API_APP_ID = "ak_demo_furong_hospital"
DEMO_API_SECRET = "demo-secret-furong-hospital-2026"
DEMO_API_LABEL = "演示凭证（仅供演示，勿用于生产）"


# --- Vocabulary for synthetic payers and receipts --------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢唐彭曾邓谭廖肖邹蒋贺龙向"
GIVEN_NAMES = (
    "伟",
    "芳",
    "敏",
    "静",
    "磊",
    "军",
    "勇",
    "艳",
    "杰",
    "涛",
    "秀英",
    "建国",
    "丽娟",
    "志强",
    "海燕",
    "俊杰",
    "子涵",
    "雨萱",
    "浩然",
    "欣怡",
    "宇轩",
    "梓涵",
    "思远",
    "晓明",
    "红梅",
    "国平",
    "桂兰",
    "湘云",
    "振华",
    "德明",
    "春花",
    "建军",
    "玉兰",
    "文杰",
    "佳怡",
    "一鸣",
    "晓燕",
    "志刚",
    "美玲",
    "永红",
    "立新",
    "湘平",
    "岳峰",
    "蓉蓉",
    "亚楠",
    "嘉豪",
    "诗涵",
    "梦瑶",
    "天宇",
    "明辉",
    "少华",
    "金凤",
    "国强",
    "小军",
    "丽华",
    "雪梅",
    "卫东",
    "建华",
)
COMPANY_WORDS = ("恒信", "华达", "宏远", "金鑫", "湘江", "麓山", "星城", "瑞丰", "德润", "嘉和", "同创", "楚天")
COMPANY_TRADES = (
    "建设工程有限公司",
    "商贸有限公司",
    "科技有限公司",
    "物业管理有限公司",
    "医药有限公司",
    "餐饮管理有限公司",
    "置业有限公司",
    "农业开发有限公司",
    "物流有限公司",
)
OUTPATIENT_DEPARTMENTS = (
    "内科",
    "外科",
    "儿科",
    "妇产科",
    "眼科",
    "耳鼻咽喉科",
    "口腔科",
    "皮肤科",
    "中医科",
    "急诊科",
    "心血管内科",
    "消化内科",
    "呼吸内科",
    "神经内科",
    "骨科",
)
INPATIENT_DEPARTMENTS = (
    "心血管内科",
    "消化内科",
    "呼吸与危重症医学科",
    "普通外科",
    "骨科",
    "神经外科",
    "妇产科",
    "儿科",
    "肿瘤科",
    "泌尿外科",
)
INSURANCE_TYPES = (("职工基本医疗保险", 45), ("城乡居民基本医疗保险", 40), ("自费", 15))
DONATION_PURPOSES = ("助学助教", "医疗救助", "乡村振兴", "防汛救灾", "扶老助残", "困难群众帮扶", "非定向捐赠")
HOSPITAL_PAY_MODES = ("医保卡", "微信", "支付宝", "银行卡", "现金")
PAY_MODES = ("微信", "支付宝", "银行卡", "现金", "非税缴款码")
ROADS = ("五一大道", "芙蓉中路", "人民路", "建设路", "解放路", "韶山路", "新华路", "湘江路", "迎宾路", "车站路")
# Case types in court case numbers, by court fee item (民初: civil first instance, 执: enforcement).
COURT_CASE_TYPES: dict[str, str] = {
    "SF001": "民初",
    "SF002": "民初",
    "SF003": "民初",
    "SF004": "民初",
    "SF005": "知民初",
    "SF006": "行初",
    "SF007": "行初",
    "SF008": "执",
    "SF009": "财保",
    "SF010": "民督",
    "SF011": "民催",
    "SF012": "民特",
    "SF013": "破申",
}
