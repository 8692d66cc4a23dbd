"""What the RMA form asks about a serial while it is typed (htmx fragments).

- `serial_options`: `<option>`s for the serial's datalist: serials the portal knows that start
  with what was typed.
- `serial_card`: what the portal knows about the chosen serial, with a warning (never a block)
  when it already has an open RMA.

Both read `?serial=` (or the form field's own name, `manufacturer_serial`) and need the
service role.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import member_required
from accounts.roles import Role

from . import serials


def _serial(request) -> str:
    return request.GET.get("serial") or request.GET.get("manufacturer_serial") or ""


@require_GET
@member_required(Role.SERVICE)
def serial_options(request):
    suggestions = serials.suggest(request.organization, _serial(request))
    return render(request, "rmas/_serial_options.html", {"suggestions": suggestions})


@require_GET
@member_required(Role.SERVICE)
def serial_card(request):
    typed = _serial(request).strip()
    facts = serials.known(request.organization, typed) if typed else None
    return render(request, "rmas/_serial_card.html", {"facts": facts})
