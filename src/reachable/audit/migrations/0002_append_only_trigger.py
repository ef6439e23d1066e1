"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit log.

(SQLite, the embedded demo database, relies on the hash chain alone: its tests need to empty
tables between runs.)
"""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION audit_auditrecord_forbid_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused on audit_auditrecord', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_auditrecord_append_only ON audit_auditrecord;
CREATE TRIGGER audit_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_auditrecord_forbid_change();
"""
ALLOW = """
DROP TRIGGER IF EXISTS audit_auditrecord_append_only ON audit_auditrecord;
DROP FUNCTION IF EXISTS audit_auditrecord_forbid_change();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor == "postgresql":
        # Straight to the cursor: with no parameters, '%' in PL/pgSQL is not a placeholder.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    _run(schema_editor, FORBID)


def backwards(apps, schema_editor):
    _run(schema_editor, ALLOW)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
