"""Compress item payloads with lz4 instead of pglz on PostgreSQL (a no-op elsewhere).

Payloads are the bulk of an import's write; lz4 compresses them several times faster than
PostgreSQL's default pglz. Needs PostgreSQL 14 or later built with lz4; without lz4 the column
keeps its compression. Existing values stay as they are; new and updated ones use lz4.
"""

from django.db import migrations


def _set_compression(method):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql" or connection.pg_version < 140000:
            return
        with connection.cursor() as cursor:
            if method == "lz4":
                cursor.execute(
                    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression'"
                    " AND 'lz4' = ANY(enumvals)"
                )
                if cursor.fetchone() is None:
                    return
            schema_editor.execute(
                f"ALTER TABLE annotate_item ALTER COLUMN payload SET COMPRESSION {method}"
            )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("annotate", "0002_crowd_entry_gold_quality"),
    ]

    operations = [
        migrations.RunPython(_set_compression("lz4"), _set_compression("pglz")),
    ]
