"""What the home dashboard plugs into shared mechanisms: where a change makes tallies stale.

- Every sync page that changed rows (and every payload applied through `sync.apply.apply_one`,
  which runs the same page hooks: webhooks, submission answers) and every vanish pass that
  flagged rows: the tallies reading that resource.
- Every refresh of a list's row table (`portal.rowtables`): the tallies reading its mirrored
  resource. This is how a local submission's changes arrive: a new order or RMA request, and
  every status of its delivery.
- Every sync run that ended: the tallies reading `RUNS` (data freshness).
- The dispatch channel "home.tallies": a worker recomputes an organization's stale tallies; the
  redrive finds those whose hand-over was lost.
"""

from __future__ import annotations

from portal import dispatch, rowtables
from sync import registry

from . import services
from .tallies import RUNS


def _resource_of(model) -> str | None:
    for resource in registry.REGISTRY.values():
        if resource.model is model:
            return resource.name
    return None


def _listeners(name: str):
    def after_page(organization, client, changed, run) -> None:
        if changed:
            services.changed(organization.pk, [name])

    def after_vanish(organization, run) -> None:
        if run is None or run.vanished:
            services.changed(organization.pk, [name])

    def after_finish(organization, run) -> None:
        services.changed(organization.pk, [RUNS])

    return after_page, after_vanish, after_finish


_HOOKED: set[str] = set()


def listen_to_sync() -> None:
    """Listen to every resource of the sync registry (a resource no tally reads costs a set lookup)."""
    for name in registry.REGISTRY:
        if name in _HOOKED:
            continue
        after_page, after_vanish, after_finish = _listeners(name)
        registry.listen(name, after_page=after_page, after_vanish=after_vanish, after_finish=after_finish)
        _HOOKED.add(name)


def _table_refreshed(table: rowtables.RowTable, organization_id: int) -> None:
    name = _resource_of(table.mirror)
    if name is not None:
        services.changed(organization_id, [name])


listen_to_sync()
rowtables.listen(_table_refreshed)
dispatch.register(dispatch.Channel(services.CHANNEL, process=services.recompute, due=services.due))
