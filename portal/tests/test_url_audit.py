"""The URL audit: every pattern of the URL conf is tried, so a new view cannot slip through.

The patterns are read from the URL conf itself (`get_resolver()`, every namespace), and every one
must be classified in one of the tables below, or `test_every_pattern_is_classified` fails naming it:

- PUBLIC: answers without signing in, each with its reason and what it answers;
- SIGNED_IN: any signed-in user, organization or not (their own password, second factor, the
  switch between their own organizations);
- MEMBER: behind `accounts.access.member_required` (or `portal.lists.OrgListView`), with the role
  its decorator requires, a role the view checks itself on POST only, and a plausible valid write.

Left out, on purpose: Django's admin (namespace `admin`: staff only by Django's own check; its pages
are `portal/tests/test_admin_registry.py`'s), static files (WhiteNoise answers them before the URL
conf), and the sandbox upstream (its own server on its own port, `manage.py runsandbox`: never
mounted in this URL conf; `test_the_url_conf_holds_no_sandbox` keeps it so).

Then, for every pattern:

- anonymous: a MEMBER or SIGNED_IN page redirects to the login page (GET and POST; 405 for a
  method the view never answers), and writes nothing; a PUBLIC one answers what its row says;
- a signed-in user of no organization gets 403 from every MEMBER page, and nothing is written;
- a pattern taking an organization object's id (test_id_views.ID_VIEWS makes one of organization A)
  answers 404 to a member of organization B, on GET and on a POST of the view's valid write data,
  and nothing is written; ids in a query string (QUERY_IDS) likewise;
- a member holding one role only, for each role in accounts.roles.Role: where the role lacks the
  page's (or the POST's) permission, 403 naming the role, and nothing written: no outbox Delivery,
  no upstream call (upstream.models.UpstreamCall), no row in any table, no e-mail, no hand-over to a
  worker scheduled. Where the role has it, the same POST does write: the data is valid, so the 403
  meant something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import pytest
from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from accounts.models import Membership
from accounts.roles import ALL_ROLES, Role
from conftest import make_member
from outbox.models import Delivery
from portal.lists import OrgListView
from portal.tests import test_id_views
from upstream.models import UpstreamCall

# url name -> factory(alice, org_a) making an object of organization A: the URL kwargs that point at it.
ID_VIEWS = cast(dict[str, Callable[[Any, Any], dict[str, Any]]], test_id_views.ID_VIEWS)

EXCLUDED_NAMESPACES = {"admin"}  # Django's admin: staff only, by its own check (see the docstring)

GET, POST = "GET", "POST"
BOTH = (GET, POST)


@dataclass(frozen=True)
class Public:
    """A page anyone may open: why, and what it answers (method -> statuses)."""

    reason: str
    answers: dict[str, set[int]]
    kwargs: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignedIn:
    """A page for any signed-in user, member of an organization or not."""

    reason: str
    methods: tuple[str, ...] = BOTH


@dataclass(frozen=True)
class Member:
    """A page behind member_required: the role its decorator requires (None: any member), a role the view
    itself checks on POST only, the methods it answers, the GET parameters that make it show something,
    a plausible valid POST (its write) and the status a member with the permission gets on GET."""

    role: str | None
    post_role: str | None = None
    methods: tuple[str, ...] = BOTH
    query: Callable[[Any], dict[str, str]] | None = None
    data: Callable[[Any], dict[str, Any]] | None = None
    upstream: bool = False  # the write is an outbox Delivery (a call to the upstream)
    get_status: int | None = 200  # None: depends on who asks (another member's private saved view is a 404)


# -- the write data of each form (the existing tests' helpers) ------------------------------------------------
def _order(world) -> dict[str, Any]:
    from orders.tests.conftest import order_data

    return order_data()


def _corrected_order(world) -> dict[str, Any]:
    from orders.tests.conftest import order_data

    return order_data(customer_order="ACME-rejected")  # the number of test_id_views' rejected submission


UPLOAD_HEADER = (
    "customer_order,purchase_order,ship_method_id,recipient_name,recipient_phone,recipient_address_1,"
    "recipient_city,recipient_zip,recipient_country,product_code,quantity,customs_declared_value\n"
)


def _upload(world) -> dict[str, Any]:
    text = UPLOAD_HEADER + "BULK-1,PO-1,12,Ann,555,1 Road,Town,Z1,CA,SKU-100,2,10\n"
    return {"file": SimpleUploadedFile("orders.csv", text.encode(), "text/csv")}


def _rma(world) -> dict[str, Any]:
    from rmas.tests.conftest import rma_data

    return rma_data()


def _corrected_rma(world) -> dict[str, Any]:
    from rmas.tests.conftest import rma_data

    return rma_data(manufacturer_serial="SN-A-1")


def _queue(world) -> dict[str, Any]:
    from automation.tests.conftest import queue_data

    return queue_data()


def _corrected_queue(world) -> dict[str, Any]:
    from automation.tests.conftest import queue_data

    return queue_data(serial="FG-ACME-2", ip="10.0.0.10", tasks=((1, 1, ""),))


def _datum(world) -> dict[str, Any]:
    return {"manufacturer_serial": "FG-D", "serial_data_type_id": "3", "metadata": "", "value": "A1"}


def _retry(world) -> dict[str, Any]:
    return {"action": "retry"}


def _serial_of_a_queue(world) -> dict[str, str]:
    from portal.tests.test_id_views import _queue_of_org_a

    _queue_of_org_a(world.alice, world.org)
    return {"serial": "FG-ACME-1"}


PUBLIC: dict[str, Public] = {
    "healthz": Public(
        "load balancers and compose's healthcheck poll it signed out; it says up or down, nothing else",
        {GET: {200, 503}},
    ),
    "livez": Public("compose's web health check: 200 while the process serves, nothing else", {GET: {200}}),
    "favicon": Public("browsers ask for it on pages that name no icon (the admin's): a redirect", {GET: {301}}),
    "webhooks:order_update": Public(
        "the integrator calls it: HMAC-signed (webhooks.services.authenticate), 401 unsigned, CSRF-exempt",
        {GET: {405}, POST: {401}},
        data={"id": 1, "status": "Shipped"},
    ),
    "login": Public("signing in", {GET: {200}}),
    "logout": Public("signing out (POST only, Django 5)", {GET: {405}, POST: {302}}),
    "password_reset": Public(
        "a forgotten password; throttled per address and IP, same answer whether the address exists or not",
        {GET: {200}, POST: {302}},
        data={"email": "nobody@example.com"},
    ),
    "password_reset_done": Public("the reset form's answer", {GET: {200}}),
    "password_reset_confirm": Public(
        "the e-mailed one-time link (uid and token, checked by Django)",
        {GET: {200}},
        kwargs={"uidb64": "MQ", "token": "bad-token"},
    ),
    "password_reset_complete": Public("the reset's last page", {GET: {200}}),
}

SIGNED_IN: dict[str, SignedIn] = {
    "switch_organization": SignedIn("picks among the user's own memberships (login_required)", methods=(POST,)),
    "password_change": SignedIn("the user's own password (Django's, login_required)"),
    "password_change_done": SignedIn("its answer (login_required)"),
    "twofactor_setup": SignedIn("the user's own authenticator app, organization or not (login_required)"),
    "twofactor_verify": SignedIn("the code after the password (login_required)"),
    "twofactor_recovery_codes": SignedIn("the user's own recovery codes (login_required)"),
}

MEMBER: dict[str, Member] = {
    "dashboard": Member(None),
    "suggest_items": Member(None, methods=(GET,)),
    "preferences": Member(None),  # the member's own e-mail preferences
    "members": Member(
        Role.MANAGER, data=lambda w: {"username": "newbie", "email": "newbie@example.com", "roles": [Role.VIEWER]}
    ),
    "member_edit": Member(Role.MANAGER, data=lambda w: {"roles": [Role.VIEWER, Role.MANAGER]}),
    # orders
    "orders:list": Member(None),  # a POST keeps the member's own columns
    "orders:new": Member(Role.BUYER, data=_order, upstream=True),
    "orders:upload": Member(Role.BUYER, data=_upload, upstream=True),
    "orders:catalog_search": Member(Role.BUYER),
    "orders:detail": Member(None),
    "orders:submission": Member(None, post_role=Role.BUYER, data=_retry, upstream=True),
    "orders:submission_edit": Member(Role.BUYER, data=_corrected_order, upstream=True),
    # RMAs
    "rmas:list": Member(None),
    "rmas:new": Member(Role.SERVICE, data=_rma, upstream=True),
    "rmas:detail": Member(None),
    "rmas:submission": Member(None, post_role=Role.SERVICE, data=_retry, upstream=True),
    "rmas:submission_edit": Member(Role.SERVICE, data=_corrected_rma, upstream=True),
    "rmas:serial_options": Member(Role.SERVICE, methods=(GET,), query=lambda w: {"serial": "SN"}),
    "rmas:serial_card": Member(Role.SERVICE, methods=(GET,), query=lambda w: {"serial": "SN-1"}),
    # saved views: each member's own (or shared) list settings
    "savedviews:save": Member(None, methods=(POST,), data=lambda w: {"list_key": "rmas", "name": "Mine"}),
    "savedviews:open": Member(None, get_status=None),
    "savedviews:delete": Member(None, methods=(POST,)),
    # invoices, inventory
    "invoices:list": Member(None),
    "invoices:detail": Member(None),
    "inventory:list": Member(None),
    "inventory:item": Member(None),
    # automation
    "automation:list": Member(None),
    "automation:changes": Member(None, methods=(GET,)),
    "automation:serial": Member(None, methods=(GET,), query=_serial_of_a_queue),
    "automation:new_queue": Member(Role.OPERATOR, data=_queue, upstream=True),
    "automation:queue": Member(None, get_status=302),
    "automation:submission": Member(None, get_status=302),
    "automation:submission_edit": Member(Role.OPERATOR, data=_corrected_queue, upstream=True),
    "automation:act": Member(
        Role.OPERATOR, methods=(POST,), data=lambda w: {"sequence": "1", "action": "start"}, upstream=True
    ),
    "automation:new_datum": Member(Role.OPERATOR, data=_datum, upstream=True),
    "automation:limits": Member(Role.MANAGER, data=lambda w: {"task_type": "1", "minutes": "30"}),
    "automation:reports": Member(None, methods=(GET,)),
    # data freshness
    "sync:freshness": Member(None),
    "sync:sync_now": Member(Role.MANAGER, methods=(POST,), data=lambda w: {}),
}


# Object ids read from a query string (a prefilled form, a serial's page): another organization's is a 404.
# (url name, parameter) -> factory(alice, org_a) returning the parameter's value for an object of A.
def _mirror_order_id(alice, org_a) -> str:
    return str(ID_VIEWS["orders:detail"](alice, org_a)["pk"])


def _order_submission_id(alice, org_a) -> str:
    return str(ID_VIEWS["orders:submission"](alice, org_a)["pk"])


def _rma_submission_id(alice, org_a) -> str:
    return str(ID_VIEWS["rmas:submission"](alice, org_a)["pk"])


def _datum_submission_id(alice, org_a) -> str:
    from automation.models import SerialDatumSubmission

    delivery = Delivery.objects.create(
        organization=org_a, kind="automation.serial_datum", method="POST", path="/v2/serial_data", body="{}"
    )
    datum = SerialDatumSubmission.objects.create(
        organization=org_a, manufacturer_serial="FG-A", serial_data_type_id=3, value="v", delivery=delivery
    )
    return str(datum.pk)


def _serial_of_org_a(alice, org_a) -> str:
    return _serial_of_a_queue(World(org_a, alice))["serial"]


QUERY_IDS: dict[tuple[str, str], Callable[[Any, Any], str]] = {
    ("orders:new", "again"): _mirror_order_id,
    ("orders:new", "again_submission"): _order_submission_id,
    ("rmas:new", "again"): _rma_submission_id,
    ("automation:new_datum", "again"): _datum_submission_id,
    ("automation:serial", "serial"): _serial_of_org_a,
}


# -- the URL conf -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pattern:
    name: str
    route: str
    pattern: URLPattern

    @property
    def role(self) -> Any:
        """The role member_required reads (None: any member), or NOT_MEMBER for a view without it."""
        view_class = getattr(self.pattern.callback, "view_class", None)
        if view_class is not None and issubclass(view_class, OrgListView):
            return view_class.required_role
        return getattr(self.pattern.callback, "required_role", NOT_MEMBER)

    @property
    def takes_arguments(self) -> bool:
        return bool(self.pattern.pattern.regex.groupindex) or bool(self.pattern.pattern.regex.groups)

    def dummy_kwargs(self) -> dict[str, Any]:
        converters = self.pattern.pattern.converters
        return {
            name: 1 if isinstance(converters.get(name), IntConverter) else "x"
            for name in self.pattern.pattern.regex.groupindex
        }


NOT_MEMBER = object()


def url_patterns(resolver: URLResolver | None = None, namespace: str = "", route: str = ""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace in EXCLUDED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner, route + str(entry.pattern))
        else:
            full = route + str(entry.pattern)
            yield Pattern(namespace + entry.name if entry.name else f"<unnamed {full!r}>", full, entry)


def patterns() -> dict[str, Pattern]:
    """Every pattern by name. A later pattern with the name and the route of an earlier one can never answer
    (Django's own password_reset behind the throttled one): it is left out."""
    found: dict[str, Pattern] = {}
    for p in url_patterns():
        if p.name in found and found[p.name].route == p.route:
            continue
        assert p.name not in found, f"two patterns named {p.name}: {found[p.name].route!r} and {p.route!r}"
        found[p.name] = p
    return found


ALL = patterns()
MEMBER_NAMES = sorted(n for n in ALL if n in MEMBER)
ID_NAMES = sorted(n for n in MEMBER_NAMES if ALL[n].takes_arguments)


def test_every_pattern_is_classified():
    unclassified = sorted(n for n in ALL if sum(n in table for table in (PUBLIC, SIGNED_IN, MEMBER)) != 1)
    assert not unclassified, (
        f"URL patterns not classified (or classified twice) by the URL audit: {unclassified}. "
        "Add each to PUBLIC, SIGNED_IN or MEMBER in portal/tests/test_url_audit.py"
    )
    stale = sorted(n for table in (PUBLIC, SIGNED_IN, MEMBER) for n in table if n not in ALL)
    assert not stale, f"the URL audit classifies patterns the URL conf no longer has: {stale}"


def test_each_member_page_requires_the_role_its_row_says():
    wrong = {
        n: (MEMBER[n].role, ALL[n].role)
        for n in MEMBER_NAMES
        if ALL[n].role is NOT_MEMBER or ALL[n].role != MEMBER[n].role
    }
    assert not wrong, f"member_required's role differs from the audit's row (row, view): {wrong}"
    not_member = sorted(n for n in (*PUBLIC, *SIGNED_IN) if n in ALL and ALL[n].role is not NOT_MEMBER)
    assert not not_member, f"behind member_required, yet classified PUBLIC or SIGNED_IN: {not_member}"


def test_every_pattern_taking_an_organization_object_has_a_factory():
    missing = sorted(n for n in ID_NAMES if n not in ID_VIEWS)
    assert not missing, f"pages taking an id without a factory in test_id_views.ID_VIEWS: {missing}"


def test_the_url_conf_holds_no_sandbox():
    assert not [p.route for p in url_patterns() if p.pattern.callback.__module__.startswith("sandbox")]


# -- the world each test starts from ------------------------------------------------------------------------------
@dataclass
class World:
    org: Any
    alice: Any


@pytest.fixture
def world(org_a, alice):
    from automation.tests.conftest import task_types
    from orders.tests.conftest import seed_reference

    seed_reference(org_a)
    task_types(org_a)
    return World(org_a, alice)


MODELS = [m for m in apps.get_models() if m._meta.managed and not m._meta.proxy]


def snapshot() -> dict[str, Any]:
    """What a write would change: every table's row count, the deliveries' schedule, the members' roles and
    settings, the e-mails sent."""
    return {
        "deliveries": Delivery.objects.count(),
        "upstream calls": UpstreamCall.objects.count(),
        "rows": {m._meta.label: m._default_manager.count() for m in MODELS},
        "delivery schedule": list(Delivery.objects.order_by("pk").values_list("pk", "status", "next_attempt_at")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "roles", "list_settings")),
        "e-mails": len(mail.outbox),
    }


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    diff = {k: (before[k], after[k]) for k in before if k != "rows" and before[k] != after[k]}
    diff.update({k: (v, after["rows"][k]) for k, v in before["rows"].items() if after["rows"][k] != v})
    return diff


def send(client: Client, method: str, url: str, data: dict[str, Any] | None, capture) -> tuple[Any, dict, list]:
    """One request; what it changed, and the hand-overs to a worker it scheduled (on commit)."""
    before = snapshot()
    with capture() as callbacks:
        response = client.get(url, data) if method == GET else client.post(url, data or {})
    return response, changes(before, snapshot()), list(callbacks)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url_of(name: str, world: World | None) -> str:
    pattern = ALL[name]
    if not pattern.takes_arguments:
        return reverse(name)
    if world is None:
        return reverse(name, kwargs=pattern.dummy_kwargs())
    return reverse(name, kwargs=ID_VIEWS[name](world.alice, world.org))


# -- anonymous --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ALL))
def test_anonymous(name, db, django_capture_on_commit_callbacks):
    anonymous = Client()
    if name in PUBLIC:
        public = PUBLIC[name]
        url = reverse(name, kwargs=public.kwargs) if public.kwargs else url_of(name, None)
        for method, statuses in public.answers.items():
            data = public.data if method == POST else None
            response, written, handed_over = send(anonymous, method, url, data, django_capture_on_commit_callbacks)
            assert response.status_code in statuses, (name, method, response.status_code)
            assert not written and not handed_over, (name, method, written)  # an unsigned webhook is not even kept
        return
    assert name in SIGNED_IN or name in MEMBER, f"unclassified: {name}"
    methods = SIGNED_IN[name].methods if name in SIGNED_IN else MEMBER[name].methods
    login = reverse("login")
    url = url_of(name, None)
    for method in BOTH:
        response, written, handed_over = send(anonymous, method, url, None, django_capture_on_commit_callbacks)
        if method in methods:
            assert response.status_code == 302 and response["Location"].startswith(login + "?next="), (name, method)
        else:
            assert response.status_code in (302, 405), (name, method, response.status_code)
        assert not written and not handed_over, (name, method, written)


# -- a signed-in user of no organization ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", MEMBER_NAMES)
def test_a_user_of_no_organization_gets_403_and_nothing_is_written(name, ops, django_capture_on_commit_callbacks):
    member = MEMBER[name]
    client = signed_in(ops)  # a superuser, even, but a member of nothing
    for method in BOTH:
        response, written, handed_over = send(
            client, method, url_of(name, None), None, django_capture_on_commit_callbacks
        )
        expected = (403,) if method in member.methods else (403, 405)
        assert response.status_code in expected, (name, method, response.status_code)
        if response.status_code == 403:
            assert "No organization" in response.content.decode(), name
        assert not written and not handed_over, (name, method, written)


@pytest.mark.parametrize("name", sorted(SIGNED_IN))
def test_a_user_of_no_organization_may_open_the_signed_in_pages(name, ops):
    response = signed_in(ops).get(url_of(name, None))
    assert response.status_code in ((200, 302) if GET in SIGNED_IN[name].methods else (405,)), response.status_code


# -- another organization's member --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ID_NAMES)
def test_another_organizations_member_gets_404_and_nothing_is_written(
    name, world, bob, django_capture_on_commit_callbacks
):
    member = MEMBER[name]
    url = url_of(name, world)
    client = signed_in(bob)  # every role, in organization B
    for method in BOTH:
        data = member.data(world) if method == POST and member.data else None
        response, written, handed_over = send(client, method, url, data, django_capture_on_commit_callbacks)
        expected = 404 if method in member.methods else 405
        assert response.status_code == expected, (name, method, response.status_code)
        assert not written and not handed_over, (name, method, written)


@pytest.mark.parametrize("name, parameter", sorted(QUERY_IDS))
def test_another_organizations_id_in_a_query_is_a_404(name, parameter, world, bob):
    value = QUERY_IDS[(name, parameter)](world.alice, world.org)
    assert signed_in(bob).get(reverse(name), {parameter: value}).status_code == 404
    alice = signed_in(world.alice).get(reverse(name), {parameter: value})
    assert alice.status_code == 200, "the same id is organization A's own"


# -- each role ------------------------------------------------------------------------------------------------------
def _lacks(role: str, required: str | None) -> bool:
    return required is not None and role != required


@pytest.mark.parametrize("name, role", [(n, r) for n in MEMBER_NAMES for r in ALL_ROLES])
def test_each_role(name, role, world, django_capture_on_commit_callbacks):
    """A member holding `role` only: 403 and nothing written where it lacks the permission; the page, and the
    write with valid data, where it has it."""
    member = MEMBER[name]
    client = signed_in(make_member(f"only-{role}", world.org, roles=[role]))
    url = url_of(name, world if ALL[name].takes_arguments else None)
    capture = django_capture_on_commit_callbacks
    if GET in member.methods:
        query = member.query(world) if member.query else None
        response, written, handed_over = send(client, GET, url, query, capture)
        if _lacks(role, member.role):
            assert response.status_code == 403, (name, role, response.status_code)
            assert Role(member.role).label in response.content.decode()
        elif member.get_status is not None:
            assert response.status_code == member.get_status, (name, role, response.status_code)
        else:
            assert response.status_code < 500 and response.status_code != 403, (name, role, response.status_code)
        assert not written and not handed_over, f"a GET of {name} wrote {written}"
    if POST in member.methods:
        data = member.data(world) if member.data else None
        response, written, handed_over = send(client, POST, url, data, capture)
        refused_by = next((r for r in (member.role, member.post_role) if _lacks(role, r)), None)
        if refused_by is not None:
            assert response.status_code == 403, (name, role, response.status_code)
            assert Role(refused_by).label in response.content.decode()
            assert written == {} and handed_over == [], f"{role} was refused {name} yet it wrote {written}"
            return
        assert response.status_code < 500 and response.status_code not in (403, 405), (name, role, response.status_code)
        if member.data is not None and (member.role is not None or member.post_role is not None):
            # The same data a refused role sent: it writes here, so the refusals above refused a real write.
            assert written or handed_over, (
                f"{name}: a {role} member's valid POST wrote nothing ({response.status_code})"
            )
        if member.upstream:
            assert "deliveries" in written or "delivery schedule" in written, f"{name}: no delivery ({written})"
