"""Quantities and amounts on a page as the inventory list shows them."""

from __future__ import annotations

from decimal import Decimal

from django import template

from inventory.lists import money_text, quantity_text

register = template.Library()


@register.filter
def quantity(value: Decimal | None) -> str:
    """12.5000 -> "12.5"; 1500 -> "1,500"; empty -> a dash."""
    return quantity_text(value) or "–"


@register.filter
def money(value: Decimal | None) -> str:
    """1234.5 -> "1,234.50"; empty -> a dash."""
    return money_text(value) or "–"
