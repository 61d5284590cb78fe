"""Every query on a partitioned table reads only the partitions of the dates at work (issue 16).

Each SQL statement of every ``queries`` module under ``common/`` is parsed with sqlglot. Every
read of a table that a migration partitions must carry a *pruning* predicate on that table's
``game_date``: a comparison, ``BETWEEN`` or ``IN`` whose other side is a constant expression
(literals, query parameters and functions of them), in the WHERE of the read's own query or in
the ON of its join. A join condition against another table's column or a subquery does not
count: BigQuery prunes partitions only on constant filters.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from common.sql import MIGRATIONS_DIR, migration_files, split_statements

ROOT = Path(__file__).resolve().parent.parent
ISSUE_TABLES = {
    "player_prop_predictions",
    "prediction_accuracy",
    "model_performance_daily",
    "player_games",
    "betting_lines",
    "betting_line_snapshots",  # issue 20 (migration 016)
}
_COMPARISONS = (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
# The season tables: the data layer's loads read them whole (every season held: features carry
# form across seasons, training spans them), by design; its season writes delete by the season's
# dates. Everything else, the grading joins included, bounds them like the rest.
SEASON_TABLES = {"player_games", "betting_lines", "betting_line_snapshots"}
SEASON_MODULES = {"common.data.queries"}


def last_creates() -> dict[str, exp.Create]:
    """Each table as the migrations leave it: its last CREATE TABLE, in migration order (a later
    migration that recreates a table decides whether it stays partitioned)."""
    found: dict[str, exp.Create] = {}
    for _version, _name, path in migration_files(MIGRATIONS_DIR):
        for text in split_statements(path.read_text()):
            statement = sqlglot.parse_one(text, read="bigquery")
            if isinstance(statement, exp.Create) and str(statement.args.get("kind", "")).upper() == "TABLE":
                found[statement.find(exp.Table).name] = statement  # type: ignore[union-attr]
    return found


def partitioned_tables() -> dict[str, exp.Create]:
    return {name: create for name, create in last_creates().items() if create.find(exp.PartitionedByProperty)}


def query_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts) for path in (ROOT / "common").rglob("queries.py")
    )


def statements(module_name: str) -> dict[str, exp.Expression]:
    """The module's SQL constants that read or write a table, parsed; a ``…_WHERE`` fragment (the
    rows a ``write_frame`` replaces) as the DELETE the engines run with it."""
    module = importlib.import_module(module_name)
    parsed = {}
    for name, value in vars(module).items():
        if name.startswith("_") or not isinstance(value, str):
            continue
        if name.endswith("_WHERE"):
            value = f"DELETE FROM prediction_accuracy WHERE {value}"
        try:
            tree = sqlglot.parse_one(value, read="bigquery")
        except sqlglot.errors.ParseError:
            continue
        if tree is not None and tree.find(exp.Table):
            parsed[name] = tree
    return parsed


def _is_constant(node: exp.Expression | None) -> bool:
    return node is not None and not node.find(exp.Column, exp.Select, exp.Subquery)


def _is_partition_column(node: exp.Expression | None, reference: str, alone: bool) -> bool:
    names = {reference, ""} if alone else {reference}
    return isinstance(node, exp.Column) and node.name == "game_date" and node.table in names


def _prunes(predicate: exp.Expression, reference: str, alone: bool) -> bool:
    """Is ``predicate`` a constant filter on ``reference``.game_date (or on an unqualified
    game_date when the table is alone in its query)?"""
    if _is_partition_column(predicate.this, reference, alone):
        others = [v for k, v in predicate.args.items() if k != "this" and isinstance(v, exp.Expression)]
        return bool(others) and all(_is_constant(o) for o in others)
    if isinstance(predicate, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):  # the constant on the left
        return _is_partition_column(predicate.expression, reference, alone) and _is_constant(predicate.this)
    return False


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    """The terms ANDed together at the top of ``condition``: only these restrict every row (a
    bound inside an OR or a NOT does not)."""
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition] if isinstance(condition, _COMPARISONS) else []


def _reads(tree: exp.Expression, tables: set[str]) -> list[exp.Table]:
    """Table references that read a partitioned table (an INSERT's target is a write)."""
    targets = {id(node.this if isinstance(node.this, exp.Table) else node.this.this)
               for node in tree.find_all(exp.Insert)}  # fmt: skip
    return [t for t in tree.find_all(exp.Table) if t.name in tables and id(t) not in targets]


def unpruned_reads(tree: exp.Expression, tables: set[str]) -> list[str]:
    """``table AS alias`` for every read of a partitioned table without a pruning predicate."""
    missing = []
    for table in _reads(tree, tables):
        scope = table.find_ancestor(exp.Select, exp.Delete, exp.Update)
        if scope is None:
            missing.append(table.sql("bigquery"))
            continue
        reference = table.alias_or_name
        alone = len([t for t in scope.find_all(exp.Table) if t.find_ancestor(exp.Select) is scope]) == 1 or not (
            isinstance(scope, exp.Select)
        )
        conditions = [scope.args.get("where")] + [j.args.get("on") for j in scope.args.get("joins") or []]
        predicates = [
            p for c in conditions if c is not None for p in _conjuncts(c.this if isinstance(c, exp.Where) else c)
        ]
        if not any(_prunes(p, reference, alone) for p in predicates):
            missing.append(table.sql("bigquery"))
    return missing


PARTITIONED = set(partitioned_tables())
ALL_STATEMENTS = [(module, name, tree) for module in query_modules() for name, tree in statements(module).items()]


def test_the_migrations_partition_the_issue_tables() -> None:
    # a later migration that recreates one of these tables must keep its PARTITION BY / CLUSTER BY (010)
    assert PARTITIONED == ISSUE_TABLES, f"left unpartitioned by the migrations: {ISSUE_TABLES - PARTITIONED}"


def test_the_queries_modules_are_found() -> None:
    assert {"common.grading.queries", "common.registry.queries"} <= set(query_modules())
    read = {t.name for _m, _n, tree in ALL_STATEMENTS for t in _reads(tree, PARTITIONED)}
    # the grading queries read all the growing tables but betting_lines (read whole by training, one season)
    assert read >= ISSUE_TABLES - {"betting_lines", "betting_line_snapshots"}


@pytest.mark.parametrize(("module", "name", "tree"), ALL_STATEMENTS, ids=[f"{m}.{n}" for m, n, _t in ALL_STATEMENTS])
def test_every_read_of_a_partitioned_table_filters_game_date(module: str, name: str, tree: exp.Expression) -> None:
    tables = PARTITIONED - SEASON_TABLES if module in SEASON_MODULES else PARTITIONED
    assert unpruned_reads(tree, tables) == [], f"{module}.{name} reads a partitioned table without game_date"


@pytest.mark.parametrize(
    "sql",
    [
        # the rolling window as it was: bounded by a subquery, which BigQuery cannot prune on
        "SELECT * FROM model_performance_daily WHERE game_date <= (SELECT MAX(game_date) FROM model_performance_daily)",
        # the box scores bounded only through the join
        "SELECT * FROM player_prop_predictions AS p JOIN player_games AS g ON g.game_date = p.game_date "
        "WHERE p.game_date IN UNNEST(@dates)",
        # one side of a self-join only
        "SELECT * FROM prediction_accuracy AS a JOIN prediction_accuracy AS b ON b.game_id = a.game_id "
        "WHERE a.game_date > @after",
        "SELECT COUNT(*) FROM prediction_accuracy WHERE system_id = @id",
        "DELETE FROM prediction_accuracy WHERE TRUE",
        # a bound that an OR makes optional
        "SELECT * FROM prediction_accuracy WHERE @days IS NULL OR game_date > DATE_SUB(@end, INTERVAL @days DAY)",
        # a correlated subquery bounded only by the outer row
        "DELETE FROM prediction_accuracy AS a WHERE a.game_date IN UNNEST(@dates) AND EXISTS "
        "(SELECT 1 FROM player_prop_predictions AS p WHERE p.game_date = a.game_date)",
    ],
)
def test_the_check_catches_an_unpruned_read(sql: str) -> None:
    assert unpruned_reads(sqlglot.parse_one(sql, read="bigquery"), PARTITIONED)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM prediction_accuracy WHERE game_date BETWEEN @start AND @end",
        "SELECT * FROM prediction_accuracy AS a WHERE a.game_date > DATE_SUB(@end, INTERVAL @days DAY)",
        "DELETE FROM prediction_accuracy WHERE game_date IN UNNEST(@dates)",
        "SELECT * FROM player_prop_predictions AS p LEFT JOIN player_games AS g "
        "ON g.game_id = p.game_id AND g.game_date IN UNNEST(@dates) WHERE p.game_date = @d",
    ],
)
def test_the_check_accepts_a_constant_filter(sql: str) -> None:
    assert unpruned_reads(sqlglot.parse_one(sql, read="bigquery"), PARTITIONED) == []


def test_a_regrade_of_an_older_date_keeps_the_windows_at_the_latest_graded_date(duck_registry: Any) -> None:
    """The latest graded date is looked for from the dates at work or the last evaluation on, never
    before: regrading D1 after D2 still evaluates up to D2, and the bounds come out as parameters."""
    from common.grading.catalog import load_catalog
    from common.grading.service import grade_dates
    from tests.test_grading import D1, D2, NOW, A, hand_fixture

    store = hand_fixture(duck_registry)
    assert store.latest_graded() is None  # nothing graded, nothing evaluated: the unbounded first search
    assert grade_dates(store, load_catalog(duck_registry.list), [D1, D2], NOW).as_of == D2
    assert grade_dates(store, load_catalog(duck_registry.list), [D1], NOW).as_of == D2
    assert store.read_evaluation([A])[A]["evaluation_as_of"] == D2
    assert store.latest_graded() == D2 and store.recent_daily(1)[0] == D2
