"""Admin pieces shared by the apps."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the system (mirror, runs, call log, outbox, orders, webhooks): ops browse
    them and run the admin's actions on them, never edit them by hand.

    `deletable = False` for rows whose loss would lose a customer's write or its history.
    Actions that change state declare `permissions=["operate"]`: they need the model's change
    permission (granted to ops), which the form itself never offers.
    """

    deletable = True

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
