from django import forms
from django.contrib import admin

from .models import Membership, Organization
from .roles import Role


class OrganizationForm(forms.ModelForm):
    """The upstream secret is write-only: typed once, stored encrypted, never shown again."""

    upstream_base_url = forms.URLField(
        label="Upstream base URL", assume_scheme="https", help_text="e.g. https://api-sandbox.mbx.com"
    )
    new_upstream_secret = forms.CharField(
        label="Upstream secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only. Leave blank to keep the stored secret.",
    )

    class Meta:
        model = Organization
        fields = [
            "name",
            "slug",
            "is_active",
            "upstream_base_url",
            "upstream_token",
            "upstream_organization_id",
        ]

    def clean(self):
        cleaned = super().clean() or {}
        if not self.instance.has_upstream_secret and not cleaned.get("new_upstream_secret"):
            self.add_error("new_upstream_secret", "An upstream secret is required for a new organization.")
        return cleaned

    def save(self, commit=True):
        org = super().save(commit=False)
        secret = self.cleaned_data.get("new_upstream_secret")
        if secret:
            org.set_upstream_secret(secret)
        if commit:
            org.save()
        return org


class MembershipForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = Membership
        fields = ["user", "organization", "roles", "notify_order_updates", "notify_rma_updates"]


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    autocomplete_fields = ["user"]


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.with_role(self.value())
        return queryset


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationForm
    list_display = ["name", "slug", "upstream_base_url", "upstream_organization_id", "is_active", "secret_set"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "upstream_token", "upstream_base_url"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    actions = ["sync_now"]

    @admin.action(description="Sync selected organizations now (every resource)")
    def sync_now(self, request, queryset):
        from sync.tasks import enqueue_organization_sync

        orgs = list(queryset.filter(is_active=True))
        for org in orgs:
            enqueue_organization_sync(org, trigger="manual")
        self.message_user(request, f"Sync queued for {len(orgs)} organization(s).")

    @admin.display(boolean=True, description="secret stored")
    def secret_set(self, obj):
        return obj.has_upstream_secret


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    form = MembershipForm
    list_display = ["user", "organization", "role_list", "notify_order_updates", "notify_rma_updates", "created_at"]
    list_filter = [RoleFilter, "organization", "notify_order_updates"]
    search_fields = ["user__username", "user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]

    @admin.display(description="roles")
    def role_list(self, obj):
        return ", ".join(obj.roles)
