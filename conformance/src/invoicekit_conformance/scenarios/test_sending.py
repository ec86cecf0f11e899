"""Sending invoices and credit notes by e-mail and via Peppol, and the typed refusal for a client that
cannot receive Peppol."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from invoicekit import Capability as C
from invoicekit import Client, ValidationError
from invoicekit.adapter import SendResult
from invoicekit.errors import ProviderRejected
from invoicekit_conformance._samples import billing_client, carried, credit_note_for, simple_invoice
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Target

REAL_MAIL = "sends e-mail and Peppol documents, which a live account would deliver to real people"

Kind = Literal["invoice", "credit_note"]


def _sender(target: Target, kind: Kind, client: Client, via: Literal["email", "peppol"]) -> Callable[[], SendResult]:
    """Make the document to send (first, so a refusal can only come from the send itself), and the send."""
    # The address is the caller's: a provider that keeps no client e-mail still sends where it is told.
    to = client.email if via == "email" else None
    client = carried(target.books.adapter, client)
    if target.supports(C.CLIENTS_CREATE):
        client = target.books.clients.create(client)
    invoice = target.books.invoices.create(simple_invoice(client, f"Sent by {via}"))
    if kind == "invoice":
        return lambda: target.books.invoices.send(invoice, via=via, to=to)
    note = target.books.credit_notes.create(credit_note_for(invoice))
    return lambda: target.books.credit_notes.send(note, via=via, to=to)


def _accepted(result: SendResult, via: str) -> None:
    assert isinstance(result, SendResult), f"send returned {type(result).__name__}, not a SendResult"
    assert result.via == via, f"sent via {via}, the result says {result.via}"
    assert result.accepted, f"the provider did not accept the {via} send: {result.message}"


def _refused(target: Target, send: Callable[[], SendResult]) -> None:
    try:
        result = send()
    except (ProviderRejected, ValidationError) as exc:
        target.report("peppol_refusal", type(exc).__name__)
        return
    raise AssertionError(f"a Peppol send to a client off the network was accepted: {result}")


@scenario(covers=[C.INVOICES_SEND_EMAIL], requires=[C.INVOICES_CREATE], sandbox_only=REAL_MAIL)
def test_send_invoice_by_email(target: Target) -> None:
    _accepted(_sender(target, "invoice", billing_client(target.tag()), "email")(), "email")


@scenario(covers=[C.INVOICES_SEND_PEPPOL], requires=[C.INVOICES_CREATE], sandbox_only=REAL_MAIL)
def test_send_invoice_via_peppol(target: Target) -> None:
    _accepted(_sender(target, "invoice", target.profile.peppol_receiver(), "peppol")(), "peppol")


@scenario(covers=[C.INVOICES_SEND_PEPPOL], requires=[C.INVOICES_CREATE], sandbox_only=REAL_MAIL)
def test_peppol_refused_for_client_off_the_network(target: Target) -> None:
    """A client that cannot receive Peppol gets a typed refusal (ValidationError or ProviderRejected),
    not a generic error and not a silent success."""
    _refused(target, _sender(target, "invoice", target.profile.peppol_non_receiver(), "peppol"))


@scenario(
    covers=[C.CREDIT_NOTES_SEND_EMAIL], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE], sandbox_only=REAL_MAIL
)
def test_send_credit_note_by_email(target: Target) -> None:
    _accepted(_sender(target, "credit_note", billing_client(target.tag()), "email")(), "email")


@scenario(
    covers=[C.CREDIT_NOTES_SEND_PEPPOL], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE], sandbox_only=REAL_MAIL
)
def test_send_credit_note_via_peppol(target: Target) -> None:
    _accepted(_sender(target, "credit_note", target.profile.peppol_receiver(), "peppol")(), "peppol")


@scenario(
    covers=[C.CREDIT_NOTES_SEND_PEPPOL], requires=[C.INVOICES_CREATE, C.CREDIT_NOTES_CREATE], sandbox_only=REAL_MAIL
)
def test_credit_note_peppol_refused_for_client_off_the_network(target: Target) -> None:
    _refused(target, _sender(target, "credit_note", target.profile.peppol_non_receiver(), "peppol"))
