from django.db import migrations, models


def sort_keys_fill(apps, schema_editor):
    """Rows written without save() before the constraint get their key from the version."""
    from catalog.versions import parse_version

    Release = apps.get_model("catalog", "Release")
    rows = list(Release.objects.filter(sort_key="").only("pk", "version"))
    for row in rows:
        parsed = parse_version(row.version)
        row.sort_key, row.is_prerelease = parsed.sort_key, parsed.is_prerelease
    Release.objects.bulk_update(rows, ["sort_key", "is_prerelease"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_newest_indexes"),
    ]

    operations = [
        migrations.RunPython(sort_keys_fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="release",
            constraint=models.CheckConstraint(
                condition=models.Q(("sort_key", ""), _negated=True),
                name="release_sort_key_not_empty",
            ),
        ),
    ]
