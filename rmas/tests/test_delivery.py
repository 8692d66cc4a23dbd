"""RMA requests to the real sandbox through the outbox and a real Celery worker: nothing lost,
nothing twice, the upstream's 422 on the fields, and the request follows its RMA to the close."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from conftest import make_member, wait_for
from mirror.models import Rma, RmaNote
from outbox.models import Delivery
from rmas import services
from rmas.models import RmaNotification, RmaSubmission
from sync.engine import run_sync

from .conftest import rma_data

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def service(sandbox_org):
    user = make_member("sam", sandbox_org, roles=["service"])
    client = Client()
    client.force_login(user)
    client.org = sandbox_org
    client.user = user
    return client


def request_rma(client, serial, **overrides) -> RmaSubmission:
    response = client.post("/rmas/new/", rma_data(manufacturer_serial=serial, **overrides))
    assert response.status_code == 302, response.context and response.context["form"].errors
    return RmaSubmission.objects.get(organization=client.org, manufacturer_serial=serial)


def state_of(pk):
    return RmaSubmission.objects.select_related("delivery").get(pk=pk).state


def test_a_request_is_sent_once_and_mirrored_with_its_problem(service, sandbox, celery_worker, fast_outbox):
    submission = request_rma(service, "SBX-RMA-OK")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the request to be sent")
    submission.refresh_from_db()
    assert submission.upstream_id and submission.upstream_status == "Not Received"
    rma = Rma.objects.get(organization=service.org, upstream_id=submission.upstream_id)
    assert rma.manufacturer_serial == "SBX-RMA-OK" and rma.request_type_id == 3 and rma.is_open
    assert list(rma.notes.values_list("kind", "message")) == [("problem", rma_data()["problem"])]
    assert sandbox.stats(service.org.upstream_token)["rmas_created"] == 1
    page = service.get(f"/rmas/submissions/{submission.pk}/").content.decode()
    assert "Not Received" in page and str(submission.upstream_id) in page


def test_upstream_down_then_back_delivers_each_request_exactly_once(service, sandbox, celery_worker, fast_outbox):
    token = service.org.upstream_token
    sandbox.set_faults(error_rate=1.0, error_status=503, path_prefix="/v2/rmas", method="POST", token=token)
    subs = [request_rma(service, f"SBX-RMA-OUT-{n}") for n in range(3)]
    wait_for(
        lambda: all(Delivery.objects.get(pk=s.delivery_id).attempts >= 2 for s in subs),
        30,
        message="every request to be tried at least twice while the upstream is down",
    )
    assert sandbox.stats(token)["rmas_created"] == 0
    sandbox.clear_faults()
    wait_for(lambda: all(state_of(s.pk) == Delivery.Status.SUCCEEDED for s in subs), 40, message="all requests sent")
    assert sandbox.stats(token)["rmas_created"] == 3
    assert len({RmaSubmission.objects.get(pk=s.pk).upstream_id for s in subs}) == 3
    for s in subs:
        delivery = Delivery.objects.get(pk=s.delivery_id)
        assert delivery.attempt_rows.filter(outcome="retrying").exists()
        assert delivery.attempt_rows.filter(outcome="succeeded").count() == 1


def test_a_dropped_answer_is_retried_with_the_same_key_without_a_duplicate(
    service, sandbox, celery_worker, fast_outbox
):
    token = service.org.upstream_token
    sandbox.set_faults(drop_after_commit_rate=1.0, count=1, path_prefix="/v2/rmas", method="POST", token=token)
    submission = request_rma(service, "SBX-RMA-DROP")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 30, message="the request to be sent")
    stats = sandbox.stats(token)
    assert stats["faults_fired"] >= 1 and stats["rmas_created"] == 1
    assert Rma.objects.filter(organization=service.org, manufacturer_serial="SBX-RMA-DROP").count() == 1


def test_the_upstreams_422_is_shown_on_the_field_and_the_correction_goes_out(
    service, sandbox, celery_worker, fast_outbox
):
    submission = RmaSubmission(  # a request type the form would refuse: only the upstream checks it here
        request_type=9,
        manufacturer_serial="SBX-RMA-422",
        problem="Fan noise",
        replacement_name="A",
        replacement_addr="1 Rd",
    )
    services.submit(service.org, service.user, submission)
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.REJECTED, 20, message="the request to be refused")
    assert "request_type_id" in Delivery.objects.get(pk=submission.delivery_id).field_errors
    page = service.get(f"/rmas/submissions/{submission.pk}/correct/")
    assert any("The upstream refused this" in e for e in page.context["form"].errors["request_type"])
    response = service.post(f"/rmas/submissions/{submission.pk}/correct/", rma_data(manufacturer_serial="SBX-RMA-FIX"))
    assert response.status_code == 302
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the correction to be sent")
    assert sandbox.stats(service.org.upstream_token)["rmas_created"] == 1


def test_the_request_follows_its_rma_to_the_close_and_the_member_is_mailed(
    service, sandbox, celery_worker, fast_outbox, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    submission = request_rma(service, "SBX-RMA-FOLLOW")
    wait_for(lambda: state_of(submission.pk) == Delivery.Status.SUCCEEDED, 20, message="the request to be sent")
    for _ in range(4):  # Not Received -> Checked In -> In Repair -> Repaired -> Closed
        sandbox.advance(1)
        run_sync(service.org, "rmas")
    rma = Rma.objects.get(organization=service.org, manufacturer_serial="SBX-RMA-FOLLOW")
    assert not rma.is_open and rma.closed_date is not None
    kinds = list(rma.notes.order_by("created_upstream_at", "id").values_list("kind", flat=True))
    assert (
        kinds[0] == RmaNote.Kind.PROBLEM and RmaNote.Kind.TROUBLESHOOTING in kinds and kinds[-1] == RmaNote.Kind.RESULT
    )
    submission.refresh_from_db()
    assert submission.upstream_status == rma.status_name == "Closed"
    statuses = ["Checked In", "In Repair", "Repaired", "Closed"]
    wait_for(
        lambda: (
            sorted(
                RmaNotification.objects.filter(submission=submission, sent_at__isnull=False).values_list(
                    "status", flat=True
                )
            )
            == sorted(statuses)
        ),
        20,
        message="an e-mail for each new status",
    )
    closing = RmaNotification.objects.get(submission=submission, status="Closed")
    assert closing.sent_at is not None
    mails = [m for m in mail.outbox if "SBX-RMA-FOLLOW" in m.subject]
    assert any("closed" in m.subject and "Results:" in m.body for m in mails), [m.subject for m in mails]
