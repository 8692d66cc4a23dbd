"""What every list's tests ask of the database: how many queries a page costs, and whether an index
serves a sort (the plan, and whether it has a sort step). One copy for the orders, RMA, inventory
and invoices lists."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


def plan_of(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # a tiny table: ask whether an index *can* serve it
            # and without statistics every path looks like one row: a sort of "one row" may look as cheap
            cursor.execute("SET enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(r[0] for r in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_sort")
            return plan
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(r[-1]) for r in cursor.fetchall())


def no_sort_step(plan: str) -> bool:
    if connection.vendor == "postgresql":
        return "Sort" not in plan.replace("Sort Key", "")
    return "TEMP B-TREE" not in plan
