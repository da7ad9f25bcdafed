"""Audit entries are append-only for the application: outside core/audit.record no code path
inserts, updates or deletes them, through the model or in raw SQL."""

from __future__ import annotations

import re
from pathlib import Path

import appupdater

ROOT = Path(appupdater.__file__).parent
THE_ONE_WRITER = ROOT / "core" / "audit.py"
MODEL_WRITE = re.compile(
    r"AuditEntry\s*\.\s*(insert|insert_many|insert_from|replace|replace_many|update|delete|"
    r"delete_instance|create|get_or_create|bulk_create|bulk_update|save|truncate_table|"
    r"drop_table)\b"
)
ROW_WRITE = re.compile(r"\b(entry|audit\w*)\s*\.\s*(save|delete_instance)\s*\(")
SQL_WRITE = re.compile(
    r"(insert\s+into|update|delete\s+from|truncate(\s+table)?|drop\s+table)\s+\"?audit_entry\b",
    re.IGNORECASE,
)


def writes_in(text: str) -> list[str]:
    return [m.group(0) for p in (MODEL_WRITE, ROW_WRITE, SQL_WRITE) for m in p.finditer(text)]


def test_the_scan_finds_each_kind_of_write():
    assert writes_in("AuditEntry.update(note='x').execute()")
    assert writes_in("AuditEntry.delete().where(AuditEntry.id == 1)")
    assert writes_in('db.execute_sql("DELETE FROM audit_entry")')
    assert writes_in("db.execute_sql('update audit_entry set note = 1')")
    assert writes_in("entry.delete_instance()")
    assert not writes_in("AuditEntry.select().where(AuditEntry.user == 'x')")


def test_no_code_path_writes_audit_entries_except_record():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(ROOT.rglob("*.py"))
        if path != THE_ONE_WRITER and (found := writes_in(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    assert writes_in(THE_ONE_WRITER.read_text(encoding="utf-8")) == ["AuditEntry.insert"]
