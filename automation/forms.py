"""The automation forms: a new queue with its task rows, an action on a task, a serial datum, a stuck limit.

Every bound comes from upstream.limits (the same numbers the payload records and the sandbox
hold); each message sits next to the field it is about, and the upstream's 422 goes next to
the field its path names (outbox.forms.add_upstream_errors).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms

from upstream import limits

from .models import QueueSubmission, SerialDatumSubmission, TaskAction
from .services import TaskRow, task_types

# A payload path of the upstream's 422 -> the form field it is about.
QUEUE_FIELDS = {"manufacturer_serial": "manufacturer_serial", "ip_address": "ip_address"}
TASK_FIELDS = {"task_type_id": "task_type", "sequence": "sequence", "assignee_id": "assignee"}
DATUM_FIELDS = {"serial_data_type_id": "serial_data_type_id"}
SEQUENCE_MESSAGE = f"Sequence is a whole number from {limits.TASK_SEQUENCE.low} to {limits.TASK_SEQUENCE.high:,}."
ID_MESSAGE = f"An id is a whole number from 1 to {limits.MAX_ID:,}."


def _serial(value: str) -> str:
    serial = " ".join((value or "").split())
    if not serial:
        raise forms.ValidationError("This field is required.")
    return serial


IP_MESSAGE = "Enter a valid IPv4 or IPv6 address, e.g. 10.0.0.12 or fe80::1."


class IPAddressField(forms.GenericIPAddressField):
    """An IPv4 or IPv6 address (IPv6 kept in its short form), with one message for every way it can be wrong."""

    def to_python(self, value: Any) -> str:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(IP_MESSAGE, code="invalid") from None


class QueueForm(forms.ModelForm):
    ip_address = IPAddressField(
        label="IP address", help_text="The system's IPv4 or IPv6 address.", error_messages={"invalid": IP_MESSAGE}
    )

    class Meta:
        model = QueueSubmission
        fields = ["manufacturer_serial", "ip_address"]
        labels = {"manufacturer_serial": "Serial"}
        help_texts = {
            "manufacturer_serial": f"The system's manufacturer serial, at most {limits.AUTOMATION_SERIAL} characters."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manufacturer_serial"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["ip_address"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean_manufacturer_serial(self) -> str:
        return _serial(self.cleaned_data["manufacturer_serial"])


class TaskRowForm(forms.Form):
    task_type = forms.TypedChoiceField(label="Task type", coerce=int, choices=[])
    sequence = forms.IntegerField(
        label="Sequence",
        min_value=limits.TASK_SEQUENCE.low,
        max_value=limits.TASK_SEQUENCE.high,
        error_messages={"invalid": SEQUENCE_MESSAGE, "min_value": SEQUENCE_MESSAGE, "max_value": SEQUENCE_MESSAGE},
        widget=forms.NumberInput(attrs={"min": limits.TASK_SEQUENCE.low, "max": limits.TASK_SEQUENCE.high, "step": 1}),
    )
    assignee = forms.IntegerField(
        label="Assignee id",
        required=False,
        min_value=1,
        max_value=limits.MAX_ID,
        help_text="Optional: the organization id that runs this task.",
        error_messages={"invalid": ID_MESSAGE, "min_value": ID_MESSAGE, "max_value": ID_MESSAGE},
        widget=forms.NumberInput(attrs={"min": 1, "step": 1}),
    )

    def __init__(self, *args, types: list[tuple[int, str]] = (), **kwargs):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["task_type"])
        field.choices = [("", "Choose a task type"), *types]
        field.error_messages["invalid_choice"] = "Choose one of your task types (they come from the integrator)."


class BaseTaskFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_few_forms": "Add at least one task.",
        "too_many_forms": f"A queue holds at most {limits.TASKS_PER_QUEUE} tasks.",
    }

    def __init__(self, *args, types: list[tuple[int, str]] = (), **kwargs):  # type: ignore[assignment]
        self.types = list(types)
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "types": self.types}

    def live_forms(self) -> list[forms.Form]:
        return [f for f in self.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: dict[int, int] = {}
        for n, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("DELETE") or data.get("sequence") is None:
                continue
            sequence = data["sequence"]
            if sequence in seen:
                form.add_error(
                    "sequence", f"Sequence {sequence} is already task {seen[sequence] + 1}: each task needs its own."
                )
            else:
                seen[sequence] = n

    def tasks(self) -> list[TaskRow]:
        return [
            TaskRow(
                task_type_id=f.cleaned_data["task_type"],
                sequence=f.cleaned_data["sequence"],
                assignee_id=f.cleaned_data.get("assignee"),
            )
            for f in self.live_forms()
        ]


TaskFormSet = cast(
    type[BaseTaskFormSet],
    forms.formset_factory(
        TaskRowForm,
        formset=BaseTaskFormSet,
        extra=0,
        min_num=1,
        validate_min=True,
        can_delete=True,
        max_num=limits.TASKS_PER_QUEUE,
        validate_max=True,
        absolute_max=limits.TASKS_PER_QUEUE,
    ),
)


def task_formset(data=None, *, organization, initial=None) -> BaseTaskFormSet:
    return TaskFormSet(data, prefix="tasks", types=task_types(organization), initial=initial)


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=TaskAction.Type.choices, error_messages={"invalid_choice": "Choose start, complete, fail or notify."}
    )
    sequence = forms.IntegerField(
        min_value=limits.TASK_SEQUENCE.low,
        max_value=limits.TASK_SEQUENCE.high,
        error_messages={"invalid": SEQUENCE_MESSAGE, "min_value": SEQUENCE_MESSAGE, "max_value": SEQUENCE_MESSAGE},
    )
    message = forms.CharField(
        required=False,
        max_length=limits.TASK_MESSAGE,
        error_messages={
            "max_length": f"A message is at most {limits.TASK_MESSAGE} characters (it has %(show_value)d)."
        },
    )

    def clean_message(self) -> str:
        return (self.cleaned_data.get("message") or "").strip()  # a NUL character: Django's own message

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == TaskAction.Type.NOTIFY and not cleaned.get("message"):
            self.add_error("message", "Notify sends a message: write it here.")
        return cleaned


class SerialDatumForm(forms.ModelForm):
    class Meta:
        model = SerialDatumSubmission
        fields = ["manufacturer_serial", "serial_data_type_id", "metadata", "value"]
        labels = {"manufacturer_serial": "Serial", "serial_data_type_id": "Data type id"}
        help_texts = {
            "serial_data_type_id": "The integrator's id of the kind of data (e.g. 1 for a BIOS version).",
            "metadata": f"Optional, at most {limits.SERIAL_DATA_TEXT} characters.",
            "value": f"At most {limits.SERIAL_DATA_TEXT} characters.",
        }

    serial_data_type_id = forms.IntegerField(
        label="Data type id",
        min_value=1,
        max_value=limits.MAX_ID,
        error_messages={"invalid": ID_MESSAGE, "min_value": ID_MESSAGE, "max_value": ID_MESSAGE},
        widget=forms.NumberInput(attrs={"min": 1, "step": 1}),
    )

    def clean_manufacturer_serial(self) -> str:
        return _serial(self.cleaned_data["manufacturer_serial"])

    def clean_value(self) -> str:
        value = (self.cleaned_data.get("value") or "").strip()
        if not value:
            raise forms.ValidationError("This field is required.")
        return value

    def clean_metadata(self) -> str:
        return (self.cleaned_data.get("metadata") or "").strip()


class StuckLimitForm(forms.Form):
    task_type = forms.TypedChoiceField(label="Task type", coerce=int, choices=[])
    minutes = forms.IntegerField(
        label="Stuck after (minutes)",
        min_value=limits.STUCK_MINUTES.low,
        max_value=limits.STUCK_MINUTES.high,
        error_messages={
            "invalid": limits.STUCK_MINUTES.message("The limit in minutes"),
            "min_value": limits.STUCK_MINUTES.message("The limit in minutes"),
            "max_value": limits.STUCK_MINUTES.message("The limit in minutes"),
        },
    )

    def __init__(self, *args, types: list[tuple[int, str]] = (), **kwargs):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["task_type"]).choices = [("", "Choose a task type"), *types]
