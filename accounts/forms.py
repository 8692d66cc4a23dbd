from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from .models import Membership
from .roles import Role


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["notify_order_updates", "notify_rma_updates"]


class MemberRolesForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False, label="Roles"
    )

    class Meta:
        model = Membership
        fields = ["roles"]


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    email = forms.EmailField(label="Email", help_text="A link to set a password is sent here for a new user.")
    roles = forms.MultipleChoiceField(
        choices=Role.choices, widget=forms.CheckboxSelectMultiple, label="Roles", initial=[Role.VIEWER]
    )

    def __init__(self, *args, organization, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user and Membership.objects.filter(user=user, organization=self.organization).exists():
            raise forms.ValidationError("This user is already a member of this organization.")
        return username


class SecondFactorForm(forms.Form):
    """One code: six digits from the authenticator app, or (when signing in) a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false", "autofocus": True}
        ),
    )

    def __init__(self, *args, label: str = "Code", help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].label = label
        self.fields["code"].help_text = help_text
