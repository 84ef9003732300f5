"""PostgreSQL: no two paper stock ranges of one paper code overlap (exclusion constraint).

Code and number are folded into one bigint (code x 10^10 + number, at most 18 digits),
so a plain GiST index on int8range enforces the rule without the btree_gist extension.
SQLite has no exclusion constraints; there the IMMEDIATE write lock serialises the
service's overlap check (docs/architecture.md, "Paper conversion").
"""

from django.db import migrations

CONSTRAINT = "paper_stock_no_overlap"
CREATE = f"""
ALTER TABLE paper_paperstock ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist (
    int8range(
        paper_code::bigint * 10000000000 + start_number,
        paper_code::bigint * 10000000000 + end_number,
        '[]'
    ) WITH &&
)
"""
DROP = f"ALTER TABLE paper_paperstock DROP CONSTRAINT IF EXISTS {CONSTRAINT}"


def _on_postgres(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("paper", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(CREATE), _on_postgres(DROP), elidable=False)]
