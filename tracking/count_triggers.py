"""The database triggers that keep the stored counts from the rows they count: ``ProgressCount`` from
``MemberProgress`` (see its docstring) and ``CompletionCount`` (accounts completed per office and day) from
``AccountStatus``.

PostgreSQL: one statement-level trigger per operation, with transition tables: a statement that writes
1,000 rows adds one difference row per group it changed. SQLite: row-level triggers (it has no transition
tables), one difference row per row written. Either way only INSERTs into the count table: no shared row
is updated, so nothing waits."""

# ruff: noqa: S608 - the SQL here is built from this module's specs only; no input reaches it

from dataclasses import dataclass


@dataclass(frozen=True)
class Counted:
    source: str  # the table counted
    target: str  # the table of differences
    keys: tuple[str, ...]  # the group, same column names in both tables
    tally: str  # the target's column counting source rows
    sums: tuple[str, ...] = ()  # source columns summed, same names in the target
    where: str = ""  # which source rows count; "{t}" is the row's prefix (NEW. / OLD. on SQLite)

    @property
    def columns(self) -> str:
        return ", ".join(self.keys)

    @property
    def insert(self) -> str:
        return f"INSERT INTO {self.target} ({', '.join((*self.keys, self.tally, *self.sums))})"

    def condition(self, prefix: str) -> str:
        return self.where.format(t=prefix) if self.where else "TRUE"

    @property
    def fill(self) -> str:
        """Every source row there is, counted: the starting rows when the triggers are added to data."""
        sums = "".join(f", SUM({c})" for c in self.sums)
        return (
            f"{self.insert} SELECT {self.columns}, COUNT(*){sums} FROM {self.source} "
            f"WHERE {self.condition('')} GROUP BY {self.columns}"
        )

    @property
    def compact(self) -> str:
        """Fold one campaign's rows (parameter: its id) into one per group: ``tracking.progress.compact``."""
        values = (self.tally, *self.sums)
        return (
            f"WITH gone AS (DELETE FROM {self.target} WHERE campaign_id = %s "
            f"RETURNING {', '.join((*self.keys, *values))}) "
            f"{self.insert} SELECT {self.columns}, {', '.join(f'SUM({c})' for c in values)} FROM gone "
            f"GROUP BY {self.columns} HAVING {' OR '.join(f'SUM({c}) <> 0' for c in values)}"
        )

    def pg_difference(self, sources: list[tuple[str, int]]) -> str:
        union = " UNION ALL ".join(
            f"SELECT {self.columns}, {sign} AS d{''.join(f', {sign} * {c} AS {c}' for c in self.sums)} "
            f"FROM {table} WHERE {self.condition('')}"
            for table, sign in sources
        )
        values = ("d", *self.sums)
        return (
            f"{self.insert} SELECT {self.columns}, {', '.join(f'SUM({c})' for c in values)} "
            f"FROM ({union}) AS rows GROUP BY {self.columns} HAVING {' OR '.join(f'SUM({c}) <> 0' for c in values)}"
        )

    def sqlite_row(self, prefix: str, sign: int) -> str:
        values = [f"{prefix}.{c}" for c in self.keys] + [str(sign)] + [f"{sign} * {prefix}.{c}" for c in self.sums]
        return f"{self.insert} SELECT {', '.join(values)} WHERE {self.condition(prefix + '.')};"


PROGRESS = Counted(
    source="tracking_memberprogress",
    target="tracking_progresscount",
    keys=("campaign_id", "office_id", "state", "has_email"),
    tally="members",
    sums=("n_not_notified", "n_notified", "n_done", "n_excluded"),
)
COMPLETIONS = Counted(
    source="tracking_accountstatus",
    target="tracking_completioncount",
    keys=("campaign_id", "office_id", "status_on"),
    tally="n",
    where="{t}status = '完了' AND {t}counted AND {t}status_on IS NOT NULL",
)

PG_OPERATIONS = {
    "insert": ("INSERT", "NEW TABLE AS new_rows", [("new_rows", 1)]),
    "delete": ("DELETE", "OLD TABLE AS old_rows", [("old_rows", -1)]),
    "update": ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows", [("new_rows", 1), ("old_rows", -1)]),
}
SQLITE_OPERATIONS = {
    "insert": ("INSERT", [("NEW", 1)]),
    "delete": ("DELETE", [("OLD", -1)]),
    "update": ("UPDATE", [("NEW", 1), ("OLD", -1)]),
}


def create(schema_editor, counted: Counted) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name, (event, referencing, sources) in PG_OPERATIONS.items():
            schema_editor.execute(
                f"CREATE FUNCTION {counted.target}_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {counted.pg_difference(sources)}; RETURN NULL; END $$"
            )
            schema_editor.execute(
                f"CREATE TRIGGER {counted.target}_{name} AFTER {event} ON {counted.source} "
                f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {counted.target}_{name}()"
            )
    elif vendor == "sqlite":
        for name, (event, sources) in SQLITE_OPERATIONS.items():
            body = " ".join(counted.sqlite_row(prefix, sign) for prefix, sign in sources)
            schema_editor.execute(
                f"CREATE TRIGGER {counted.target}_{name} AFTER {event} ON {counted.source} "
                f"FOR EACH ROW BEGIN {body} END"
            )
    else:  # pragma: no cover - the project runs on these two
        raise NotImplementedError(vendor)
    schema_editor.execute(counted.fill)


def drop(schema_editor, counted: Counted) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in PG_OPERATIONS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {counted.target}_{name}" + (f" ON {counted.source}" if postgres else "")
        )
        if postgres:
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {counted.target}_{name}()")
