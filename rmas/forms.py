"""The RMA form: the vendor's fields and lengths (upstream.limits), each message next to its field."""

from __future__ import annotations

from typing import cast

from django import forms

from upstream import limits
from upstream.records import RMA_REQUEST_EXPLAINED, RmaRequestType

from .models import RmaSubmission

# A payload path of the upstream's 422 -> the form field it is about.
UPSTREAM_FIELDS = {"request_type_id": "request_type"}
# Request types that ship something to the replacement destination: they need its address.
SHIPS_TO_DESTINATION = (
    RmaRequestType.REPLACEMENT_PARTS,
    RmaRequestType.ADVANCE_SYSTEM_REPLACEMENT,
    RmaRequestType.DEPOT_REPAIR_AND_RETURN,
)


class RequestTypeSelect(forms.RadioSelect):
    """Radio buttons, each with its one-line explanation of what happens."""

    option_template_name = "rmas/_request_type_option.html"

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        try:
            option["explanation"] = RMA_REQUEST_EXPLAINED[RmaRequestType(int(value))]
        except (TypeError, ValueError):
            option["explanation"] = ""
        return option


class RmaForm(forms.ModelForm):
    class Meta:
        model = RmaSubmission
        fields = [
            "request_type",
            "manufacturer_serial",
            "problem",
            "replacement_name",
            "replacement_phone",
            "replacement_addr",
        ]
        widgets = {
            "request_type": RequestTypeSelect,
            "problem": forms.Textarea(attrs={"rows": 5}),
            "replacement_addr": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"manufacturer_serial": "Manufacturer serial", "problem": "Problem and the solution you ask for"}
        help_texts = {
            "manufacturer_serial": f"As printed on the system, at most {limits.RMA_SERIAL} characters.",
            "problem": f"At most {limits.NOTES:,} characters.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["request_type"]).choices = RmaRequestType.choices  # no empty choice
        serial = self.fields["manufacturer_serial"]
        serial.widget.attrs.update({"autocomplete": "off", "list": "serial-options", "spellcheck": "false"})

    def clean_manufacturer_serial(self) -> str:
        serial = " ".join(self.cleaned_data["manufacturer_serial"].split())
        if not serial:
            raise forms.ValidationError("This field is required.")
        return serial

    def clean(self):
        cleaned = super().clean() or {}
        request_type = cleaned.get("request_type")
        if request_type in SHIPS_TO_DESTINATION and not (cleaned.get("replacement_addr") or "").strip():
            label = RmaRequestType(request_type).label
            self.add_error("replacement_addr", f"{label} ships to this destination: give its address.")
        return cleaned
