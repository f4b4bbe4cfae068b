"""Row counters for the home page, kept by triggers on the counted tables.

PostgreSQL: statement-level triggers with transition tables (one counter update
per statement, so a COPY of a million rows is one update); TRUNCATE resets.
SQLite: row-level triggers (it has no statement-level ones). The counters are
filled from the rows present when this runs.
"""

from django.db import migrations, models

COUNTED = {
    "packages": "Package",
    "releases": "Release",
    "files": "ReleaseFile",
    "users": "User",
}
COUNTERS = "catalog_catalogcounter"

POSTGRES_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION catalog_counter_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNTERS} (name, value) SELECT TG_ARGV[0], count(*) FROM new_rows
    ON CONFLICT (name) DO UPDATE SET value = {COUNTERS}.value + EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_counter_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTERS} SET value = value - (SELECT count(*) FROM old_rows)
    WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION catalog_counter_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNTERS} SET value = 0 WHERE name = TG_ARGV[0];
    RETURN NULL;
END $$;
"""


def _statements(vendor: str, table: str, name: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"CREATE TRIGGER catalog_counter_ins AFTER INSERT ON {table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION catalog_counter_insert('{name}')",
            f"CREATE TRIGGER catalog_counter_del AFTER DELETE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION catalog_counter_delete('{name}')",
            f"CREATE TRIGGER catalog_counter_trunc AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION catalog_counter_truncate('{name}')",
        ]
    return [
        f"CREATE TRIGGER catalog_counter_ins_{name} AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {COUNTERS} (name, value) VALUES ('{name}', 1) "
        f"ON CONFLICT (name) DO UPDATE SET value = value + 1; END",
        f"CREATE TRIGGER catalog_counter_del_{name} AFTER DELETE ON {table} BEGIN "
        f"UPDATE {COUNTERS} SET value = value - 1 WHERE name = '{name}'; END",
    ]


def install(apps, schema_editor):
    connection = schema_editor.connection
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"no row-counter triggers for {vendor}")
    Counter = apps.get_model("catalog", "CatalogCounter")
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(POSTGRES_FUNCTIONS)
        for name, model_name in COUNTED.items():
            model = apps.get_model("catalog", model_name)
            table = connection.ops.quote_name(model._meta.db_table)
            # Counted and triggered in one transaction: no row is missed or counted twice.
            if vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            Counter.objects.using(connection.alias).update_or_create(
                name=name, defaults={"value": model.objects.using(connection.alias).count()}
            )
            for statement in _statements(vendor, table, name):
                cursor.execute(statement)


def uninstall(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for name, model_name in COUNTED.items():
            table = connection.ops.quote_name(apps.get_model("catalog", model_name)._meta.db_table)
            if connection.vendor == "postgresql":
                for trigger in ("ins", "del", "trunc"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS catalog_counter_{trigger} ON {table}")
            else:
                for trigger in ("ins", "del"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS catalog_counter_{trigger}_{name}")
        if connection.vendor == "postgresql":
            for function in ("insert", "delete", "truncate"):
                cursor.execute(f"DROP FUNCTION IF EXISTS catalog_counter_{function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_search_terms"),
    ]

    operations = [
        migrations.CreateModel(
            name="CatalogCounter",
            fields=[
                ("name", models.CharField(max_length=32, primary_key=True, serialize=False)),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
