"""The database triggers that keep ``ProgressCount`` (see its docstring) from ``MemberProgress``.

PostgreSQL: one statement-level trigger per operation, with transition tables: a statement that writes
1,000 progress rows adds one difference row per (campaign, office, state, mail address yes/no) it changed.
SQLite: row-level triggers (it has no transition tables), one difference row per progress row written.
Either way only INSERTs into ``tracking_progresscount``: no shared row is updated, so nothing waits."""

# ruff: noqa: S608 - the SQL here is built from this module's constants only; no input reaches it

COLUMNS = "campaign_id, office_id, state, has_email"
TARGET = f"INSERT INTO tracking_progresscount ({COLUMNS}, members, n_not_notified, n_notified, n_done, n_excluded)"
COUNTS = ("n_not_notified", "n_notified", "n_done", "n_excluded")

# Every progress row there is, counted: the starting rows when the triggers are added to existing data.
FILL = (
    f"{TARGET} SELECT {COLUMNS}, COUNT(*), {', '.join(f'SUM({c})' for c in COUNTS)} "
    f"FROM tracking_memberprogress GROUP BY {COLUMNS}"
)

_SUMS = ", ".join(f"SUM({c})" for c in ("members", *COUNTS))
_NONZERO = " OR ".join(f"SUM({c}) <> 0" for c in ("members", *COUNTS))
# Fold one campaign's rows (parameter: its id) into one per group: see ``tracking.progress.compact_counts``.
COMPACT = (
    "WITH gone AS (DELETE FROM tracking_progresscount WHERE campaign_id = %s "
    f"RETURNING {COLUMNS}, members, {', '.join(COUNTS)}) "
    f"{TARGET} SELECT {COLUMNS}, {_SUMS} FROM gone GROUP BY {COLUMNS} HAVING {_NONZERO}"
)


def _pg_difference(sources: list[tuple[str, int]]) -> str:
    union = " UNION ALL ".join(
        f"SELECT {COLUMNS}, {sign} AS d, {', '.join(f'{sign} * {c} AS {c}' for c in COUNTS)} FROM {table}"
        for table, sign in sources
    )
    changed = " OR ".join(f"SUM({c}) <> 0" for c in ("d", *COUNTS))
    return (
        f"{TARGET} SELECT {COLUMNS}, SUM(d), {', '.join(f'SUM({c})' for c in COUNTS)} "
        f"FROM ({union}) AS rows GROUP BY {COLUMNS} HAVING {changed}"
    )


PG_OPERATIONS = {
    "insert": ("INSERT", "NEW TABLE AS new_rows", [("new_rows", 1)]),
    "delete": ("DELETE", "OLD TABLE AS old_rows", [("old_rows", -1)]),
    "update": ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows", [("new_rows", 1), ("old_rows", -1)]),
}


def _sqlite_row(prefix: str, sign: int) -> str:
    values = ", ".join(
        [f"{prefix}.{c}" for c in COLUMNS.split(", ")] + [str(sign)] + [f"{sign} * {prefix}.{c}" for c in COUNTS]
    )
    return f"{TARGET} VALUES ({values});"


SQLITE_OPERATIONS = {
    "insert": ("INSERT", [("NEW", 1)]),
    "delete": ("DELETE", [("OLD", -1)]),
    "update": ("UPDATE", [("NEW", 1), ("OLD", -1)]),
}


def create(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, (event, referencing, sources) in PG_OPERATIONS.items():
            schema_editor.execute(
                f"CREATE FUNCTION tracking_progress_count_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {_pg_difference(sources)}; RETURN NULL; END $$"
            )
            schema_editor.execute(
                f"CREATE TRIGGER tracking_progress_count_{name} AFTER {event} ON tracking_memberprogress "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION tracking_progress_count_{name}()"
            )
    elif vendor == "sqlite":
        for name, (event, sources) in SQLITE_OPERATIONS.items():
            body = " ".join(_sqlite_row(prefix, sign) for prefix, sign in sources)
            schema_editor.execute(
                f"CREATE TRIGGER tracking_progress_count_{name} AFTER {event} ON tracking_memberprogress "
                f"FOR EACH ROW BEGIN {body} END"
            )
    else:  # pragma: no cover - the project runs on these two
        raise NotImplementedError(vendor)


def drop(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name in PG_OPERATIONS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS tracking_progress_count_{name}"
            + (" ON tracking_memberprogress" if vendor == "postgresql" else "")
        )
        if vendor == "postgresql":
            schema_editor.execute(f"DROP FUNCTION IF EXISTS tracking_progress_count_{name}()")
