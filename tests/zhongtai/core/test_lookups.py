"""The ``__any`` lookup and ``sql_in``: the rows of ``__in``, one array parameter on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.factories import RegionFactory
from zhongtai.core.lookups import id_array, sql_in
from zhongtai.masterdata.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def regions() -> list[Region]:
    province = RegionFactory(code="430000", level=Region.Level.PROVINCE)
    cities = [RegionFactory(code=f"43{n:02d}00", level=Region.Level.CITY, parent=province) for n in range(1, 6)]
    return [province, *cities]


def _ids(queryset) -> list[int]:  # type: ignore[no-untyped-def]
    return sorted(queryset.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "wanted",
    [
        lambda ids: ids[1:4],
        lambda ids: [ids[2], ids[2], ids[0]],  # duplicates count once
        lambda ids: [ids[1], None, ids[3]],  # NULL equals nothing, as with __in
        lambda ids: [ids[0], 10**12],  # an id with no row
    ],
)
def test_any_finds_the_rows_in_finds(regions: list[Region], wanted) -> None:  # type: ignore[no-untyped-def]
    values = wanted([r.pk for r in regions])
    assert _ids(Region.objects.filter(pk__any=values)) == _ids(Region.objects.filter(pk__in=values))
    assert _ids(Region.objects.filter(pk__any=values)) == sorted({v for v in values if v in {r.pk for r in regions}})


def test_any_of_nothing_matches_nothing(regions: list[Region]) -> None:
    assert list(Region.objects.filter(pk__any=[])) == []
    assert list(Region.objects.filter(pk__any=[None])) == []
    assert _ids(Region.objects.exclude(pk__any=[])) == sorted(r.pk for r in regions)


def test_any_works_on_a_foreign_key_and_across_a_join(regions: list[Region]) -> None:
    province, *cities = regions
    assert _ids(Region.objects.filter(parent_id__any=[province.pk])) == sorted(c.pk for c in cities)
    assert _ids(Region.objects.filter(parent__any=[province.pk])) == sorted(c.pk for c in cities)
    assert _ids(Region.objects.filter(children__pk__any=[cities[0].pk])) == [province.pk]


def test_any_sends_one_array_parameter_on_postgresql_and_a_list_elsewhere(regions: list[Region]) -> None:
    ids = [r.pk for r in regions]
    with CaptureQueriesContext(connection) as queries:
        list(Region.objects.filter(pk__any=ids))
    sql = queries.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::bigint[]" in sql and " IN (" not in sql
    else:
        assert f" IN ({', '.join(str(i) for i in ids)})" in sql


def test_sql_in_filters_raw_sql_like_the_lookup(regions: list[Region]) -> None:
    ids = [r.pk for r in regions[:3]]
    table, pk = connection.ops.quote_name(Region._meta.db_table), connection.ops.quote_name("id")
    condition, params = sql_in(connection, pk, ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk} FROM {table} WHERE {condition} ORDER BY {pk}", params)
        assert [row[0] for row in cursor.fetchall()] == sorted(ids)
    assert len(params) == (1 if connection.vendor == "postgresql" else 3)


def test_sql_in_refuses_an_empty_list() -> None:
    with pytest.raises(ValueError):
        sql_in(connection, '"id"', [])


def test_id_array_is_the_postgresql_literal_of_integers_only() -> None:
    assert id_array([3, 1, 2]) == "{3,1,2}"
    with pytest.raises(ValueError):
        id_array(["1}'; DROP TABLE x; --"])  # type: ignore[list-item]
