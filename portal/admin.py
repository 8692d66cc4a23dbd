"""Admin pieces shared by the apps."""

from functools import cached_property

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet


class EstimatedCountPaginator(Paginator):
    """The admin's paginator for tables of millions of rows: the count is exact up to the lists'
    cap and PostgreSQL's planner estimate above it (one cheap query, never a COUNT(*) of it all)."""

    @cached_property
    def count(self) -> int:
        from portal.lists import COUNT_CAP, capped_counts, planner_estimate

        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return len(qs)
        n = capped_counts(qs, {"n": None}, COUNT_CAP)["n"]
        if n <= COUNT_CAP:
            return n
        return max(planner_estimate(qs) or n, n)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the system (mirror, runs, call log, outbox, orders, webhooks): ops browse
    them and run the admin's actions on them, never edit them by hand.

    `deletable = False` for rows whose loss would lose a customer's write or its history.
    Actions that change state declare `permissions=["operate"]`: they need the model's change
    permission (granted to ops), which the form itself never offers.
    """

    deletable = True
    paginator = EstimatedCountPaginator
    show_full_result_count = False  # one count per page, not two

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)

    def has_operate_permission(self, request) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
