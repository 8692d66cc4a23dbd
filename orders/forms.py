"""The order form and its lines: the vendor's rules, checked here, with the message next to the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django import forms
from django.core.exceptions import ValidationError

from mirror.models import CatalogItem, Country, ShipMethod
from outbox.forms import REFUSED, upstream_messages
from upstream import limits

from .models import ADDRESS_MAX, PARTY_FIELDS, PARTY_REQUIRED, OrderSubmission
from .readiness import Gap
from .services import customer_order_taken

QUANTITY_MESSAGE = "must be a positive whole number"
VALUE_MESSAGE = "must be zero or more"


def ship_method_choices(organization) -> list[tuple[str, str]]:
    rows = ShipMethod.objects.for_org(organization).present().order_by("name")
    return [("", "Choose a ship method")] + [
        (str(m.upstream_id), f"{m.name} ({m.carrier})" if m.carrier else m.name) for m in rows
    ]


def country_choices(organization) -> list[tuple[str, str]]:
    rows = Country.objects.for_org(organization).present().order_by("name")
    return [("", "Choose a country")] + [(c.iso_code.upper(), f"{c.name} ({c.iso_code.upper()})") for c in rows]


class OrderForm(forms.ModelForm):
    ship_method = forms.TypedChoiceField(label="Ship method", coerce=int, empty_value=None)

    class Meta:
        model = OrderSubmission
        fields = [
            "purchase_order",
            "customer_order",
            "ship_method",
            "ship_account",
            "notes",
            "customer_rma_case",
            "duties_and_taxes_account",
            *[f"recipient_{k}" for k in PARTY_FIELDS],
            "importer_same_as_recipient",
            *[f"importer_{k}" for k in PARTY_FIELDS],
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        labels = {"importer_same_as_recipient": "Importer of record is the same as the recipient"}

    def __init__(self, *args, organization, gaps: Sequence[Gap] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        cast(forms.ChoiceField, self.fields["ship_method"]).choices = ship_method_choices(organization)
        if self.instance.pk and self.instance.ship_method_id and "ship_method" not in self.initial:
            self.initial["ship_method"] = str(self.instance.ship_method_id)
        countries = country_choices(organization)
        for prefix in ("recipient", "importer"):
            for key in PARTY_FIELDS:
                name = f"{prefix}_{key}"
                field = self.fields[name]
                if key == "country":
                    self.fields[name] = field = forms.ChoiceField(
                        label=field.label, choices=countries, required=field.required
                    )
                if key == "email":
                    self.fields[name] = field = forms.EmailField(label=field.label, required=False, max_length=255)
                if key.startswith("address"):
                    cast(forms.CharField, field).max_length = ADDRESS_MAX
                    field.widget.attrs["maxlength"] = ADDRESS_MAX
                    field.error_messages["max_length"] = f"at most {ADDRESS_MAX} characters"
                    field.validators = [v for v in field.validators if v.__class__.__name__ != "MaxLengthValidator"]
                    field.help_text = f"at most {ADDRESS_MAX} characters"
                field.widget.attrs.setdefault("autocomplete", "off")
                if prefix == "importer":
                    # Required unless "same as recipient": checked in clean().
                    field.required = False
                    if key in PARTY_REQUIRED:
                        field.widget.attrs["data-required"] = "1"
        self.fields["customer_order"].help_text = "your own order number; unique in your organization"
        # A list the integrator has not sent yet says so, instead of offering nothing (orders.readiness).
        waiting = {gap.resource: gap for gap in gaps}
        for resource, names in (
            ("ship_methods", ["ship_method"]),
            ("countries", ["recipient_country", "importer_country"]),
        ):
            if resource in waiting:
                for name in names:
                    field = cast(forms.ChoiceField, self.fields[name])
                    field.choices = [("", waiting[resource].placeholder)]
                    field.widget.attrs["disabled"] = True

    def _clean_address(self, name):
        value = (self.cleaned_data.get(name) or "").strip()
        if len(value) > ADDRESS_MAX:
            raise ValidationError(f"at most {ADDRESS_MAX} characters (this one has {len(value)})")
        return value

    def clean_recipient_address_1(self):
        return self._clean_address("recipient_address_1")

    def clean_recipient_address_2(self):
        return self._clean_address("recipient_address_2")

    def clean_recipient_address_3(self):
        return self._clean_address("recipient_address_3")

    def clean_importer_address_1(self):
        return self._clean_address("importer_address_1")

    def clean_importer_address_2(self):
        return self._clean_address("importer_address_2")

    def clean_importer_address_3(self):
        return self._clean_address("importer_address_3")

    def clean_customer_order(self):
        value = (self.cleaned_data.get("customer_order") or "").strip()
        if value and customer_order_taken(self.organization, value, exclude_pk=self.instance.pk):
            raise ValidationError(f"{value} is used by another order of your organization; choose another number.")
        return value

    def clean_ship_method(self):
        value = self.cleaned_data.get("ship_method")
        method = ShipMethod.objects.for_org(self.organization).present().filter(upstream_id=value).first()
        if method is None:
            raise ValidationError("Choose one of the ship methods offered.")
        self.ship_method_obj = method
        return value

    def clean(self):
        data = super().clean() or {}
        if not data.get("importer_same_as_recipient"):
            for key in PARTY_REQUIRED:
                name = f"importer_{key}"
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "This field is required (or tick “same as the recipient”).")
        return data

    def _post_clean(self):
        method = getattr(self, "ship_method_obj", None)
        if method is not None:
            self.instance.ship_method_id = method.upstream_id
            self.instance.ship_method_name = method.name
        super()._post_clean()  # type: ignore[misc]  # Django's, missing from the stubs

    def validate_unique(self):
        pass  # customer_order is checked in clean_customer_order; organization is set on save


class LineForm(forms.Form):
    product_code = forms.CharField(
        label="Product code",
        max_length=limits.CODE,
        widget=forms.TextInput(attrs={"list": "catalog-skus", "autocomplete": "off", "class": "line-product"}),
    )
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=limits.QUANTITY.low,
        max_value=limits.QUANTITY.high,
        initial=1,
        error_messages={
            "invalid": f"Quantity {QUANTITY_MESSAGE}.",
            "min_value": f"Quantity {QUANTITY_MESSAGE}.",
            "max_value": f"Quantity is at most {limits.QUANTITY.high:,} per line; split larger orders.",
        },
        widget=forms.NumberInput(
            attrs={"min": limits.QUANTITY.low, "max": limits.QUANTITY.high, "step": 1, "class": "line-quantity"}
        ),
    )
    customs_declared_value = forms.DecimalField(
        label="Unit customs declared value",
        min_value=limits.MONEY.low,
        max_value=limits.MONEY.high,
        max_digits=limits.MONEY_DIGITS,
        decimal_places=limits.MONEY_PLACES,
        error_messages={
            "invalid": "Enter a number.",
            "min_value": f"The value {VALUE_MESSAGE}.",
            "max_value": f"The value is at most {limits.MONEY.high:,}.",
        },
        widget=forms.NumberInput(attrs={"min": 0, "step": "0.01", "class": "line-value"}),
    )

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_product_code(self):
        value = (self.cleaned_data.get("product_code") or "").strip()
        if (
            self.organization is not None
            and value
            and not CatalogItem.objects.for_org(self.organization).present().filter(customer_sku=value).exists()
        ):
            raise ValidationError(f"{value} is not in your catalog; choose one of your catalog items.")
        return value


class BaseLineFormSet(forms.BaseFormSet):
    default_error_messages = {"too_few_forms": "Add at least one line."}

    def __init__(self, *args, organization=None, **kwargs):
        self.organization = organization
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "organization": self.organization}

    def lines(self) -> list[dict]:
        return [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


LineFormSet = cast(
    type[BaseLineFormSet],
    forms.formset_factory(
        LineForm,
        formset=BaseLineFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        can_delete=True,
        max_num=limits.LINES_PER_ORDER,
        validate_max=True,
    ),
)


def line_formset(data=None, *, organization, initial=None) -> BaseLineFormSet:
    return LineFormSet(data, prefix="lines", organization=organization, initial=initial)


# -- the upstream's 422, back onto the form -------------------------------------------------------
def field_for_path(path: str) -> tuple[str, int | None, str]:
    """'recipient.address_1' -> ('form', None, 'recipient_address_1'); 'lines.0.quantity' -> ('line', 0, 'quantity')."""
    parts = path.split(".")
    if parts[0] == "lines":
        if len(parts) >= 3 and parts[1].isdigit():
            return "line", int(parts[1]), parts[2]
        return "lines", None, ""
    if parts[0] in ("recipient", "importer_of_record") and len(parts) >= 2:
        prefix = "recipient" if parts[0] == "recipient" else "importer"
        return "form", None, f"{prefix}_{parts[1]}"
    if parts[0] == "ship_method_id":
        return "form", None, "ship_method"
    return "form", None, parts[0]


def apply_upstream_errors(form: OrderForm, formset: BaseLineFormSet, field_errors: dict) -> None:
    """Show the upstream's 422 (or 409) messages next to the fields they are about."""
    for path, message in upstream_messages(field_errors):
        where, index, name = field_for_path(path)
        text = REFUSED.format(message=message)
        if where == "line" and index is not None and index < len(formset.forms) and name in formset.forms[index].fields:
            formset.forms[index].add_error(name, text)
        elif where == "lines":
            formset._non_form_errors = [*formset.non_form_errors(), text]  # type: ignore[attr-defined]
        elif name in form.fields:
            if name.startswith("importer_") and form.instance.importer_same_as_recipient:
                name = "importer_same_as_recipient"
            form.add_error(name, text)
        else:
            form.add_error(None, f"{path}: {message}")
