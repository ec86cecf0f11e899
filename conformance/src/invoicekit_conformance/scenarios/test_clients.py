"""Clients: the round trip and its fidelity report, listing, search, update, delete, contacts, VAT check."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from invoicekit import Capability as C
from invoicekit import Client, Contact, NotFound, ValidationError
from invoicekit_conformance._compare import CLIENT_FIELDS, field_results
from invoicekit_conformance._samples import billing_client, carried, rich_client
from invoicekit_conformance._scenario import scenario
from invoicekit_conformance._target import Meter, Target


@scenario(covers=[C.CLIENTS_CREATE, C.CLIENTS_GET])
def test_client_round_trip(target: Target) -> None:
    """Every neutral field the adapter claims to carry survives create -> get unchanged.

    The suite sends a client with every field set. Fields the adapter declares it cannot store
    (``unsupported_fields``) may be lost; any other field must come back as sent. The per-field result is
    the fidelity report of the feature matrix.
    """
    sent = rich_client(target.tag())
    declared = target.books.adapter.unsupported_fields(sent)
    books = target.connect(allow_field_loss=True)  # so the declared losses do not stop the create

    created = books.clients.create(sent)
    assert created.provider_id, f"{target.provider}: clients.create returned a client without provider_id"
    fetched = books.clients.get(created.provider_id)
    assert fetched.provider_id == created.provider_id

    results = field_results(sent, fetched, CLIENT_FIELDS, declared, dict(target.profile.normalised_fields))
    target.report("client_fidelity", {r.path: r.label for r in results})
    problems = [r.problem() for r in results if not r.ok]
    assert not problems, (
        f"client round trip (create -> get) on {target.provider} lost or changed fields it claims to carry:\n  - "
        + "\n  - ".join(problems)
    )


def _plain(target: Target, tag: str, **options: Any) -> Client:
    """The plain billing client, as far as the adapter can carry it."""
    return carried(target.books.adapter, billing_client(tag, **options))


@scenario(covers=[C.CLIENTS_LIST], requires=[C.CLIENTS_CREATE])
def test_clients_list_each_client_once(target: Target) -> None:
    tag = target.tag()
    made = [target.books.clients.create(_plain(target, f"{tag}{i}", name="Listed")) for i in range(3)]
    listed = [c.provider_id for c in target.books.clients.list()]
    counts = Counter(listed)
    twice = sorted(str(i) for i, n in counts.items() if n > 1)
    assert not twice, f"clients.list returned client(s) {', '.join(twice)} more than once"
    missing = [c.provider_id for c in made if c.provider_id not in counts]
    assert not missing, f"clients.list left out the client(s) just created: {missing}"
    if not target.live:
        assert len(listed) == len(made), f"a fresh sandbox holds {len(made)} clients, clients.list gave {len(listed)}"


@scenario(covers=[C.CLIENTS_SEARCH], requires=[C.CLIENTS_CREATE])
def test_client_search_and_filters(target: Target) -> None:
    tag = target.tag()
    wanted = target.books.clients.create(_plain(target, tag, name="Searchable"))
    other = target.books.clients.create(_plain(target, target.tag(), name="Other", vat_number="BE0428759497"))

    by_name = [c.provider_id for c in target.books.clients.list(search=f"Searchable {tag}")]
    assert wanted.provider_id in by_name, f"searching for the client's name {wanted.name!r} did not find it"
    assert other.provider_id not in by_name, f"searching for {wanted.name!r} also found {other.name!r}"

    assert wanted.external_id is not None
    by_ref = [c.provider_id for c in target.books.clients.list(external_id=wanted.external_id)]
    assert by_ref == [wanted.provider_id], (
        f"filtering on external_id={wanted.external_id!r} should give exactly that client, got {by_ref}"
    )

    by_vat = list(target.books.clients.list(vat_number="BE0428759497"))
    assert other.provider_id in [c.provider_id for c in by_vat], "filtering on the VAT number missed the client"
    strays = [c.provider_id for c in by_vat if c.vat_number != "BE0428759497"]
    assert not strays, f"filtering on vat_number=BE0428759497 also gave clients with other VAT numbers: {strays}"


_UPDATED = ("name", "email", "phone")


@scenario(covers=[C.CLIENTS_UPDATE], requires=[C.CLIENTS_CREATE, C.CLIENTS_GET])
def test_client_update(target: Target) -> None:
    """The update changes the name, e-mail and phone, each the adapter can carry; one it declares it cannot
    carry is refused (ValidationError naming it, nothing sent), and the update without it goes through."""
    created = target.books.clients.create(_plain(target, target.tag()))
    assert created.provider_id is not None
    wanted = created.model_copy(
        update={"name": created.name + " (renamed)", "email": "new-address@client.example", "phone": "+3293334455"}
    )
    declared = [i.path for i in target.books.adapter.field_losses(wanted) if i.path in _UPDATED]
    if declared:
        meter = Meter()
        with pytest.raises(ValidationError) as caught:
            target.connect(meter=meter).clients.update(created.provider_id, wanted)
        assert set(declared) <= set(caught.value.fields), (
            f"an update setting {declared}, which {target.provider} declares it cannot store, was refused naming "
            f"{caught.value.fields}"
        )
        assert not meter.requests, f"the refused update sent {meter.requests}"
    changed = carried(target.books.adapter, wanted)
    assert changed.name == wanted.name, f"{target.provider} declares it cannot store a client's name"
    updated = target.books.clients.update(created.provider_id, changed)
    fetched = target.books.clients.get(created.provider_id)
    for label, client in (("update returned", updated), ("get after update returned", fetched)):
        got = {path: getattr(client, path) for path in _UPDATED}
        expected = {path: getattr(changed, path) for path in _UPDATED}
        assert got == expected, f"{label} {got}; expected {expected}"
    assert fetched.vat_number == created.vat_number, "the update lost the VAT number it did not touch"


@scenario(covers=[C.CLIENTS_DELETE], requires=[C.CLIENTS_CREATE, C.CLIENTS_GET])
def test_client_delete(target: Target) -> None:
    created = target.books.clients.create(_plain(target, target.tag()))
    assert created.provider_id is not None
    target.books.clients.delete(created.provider_id)
    with pytest.raises(NotFound):
        target.books.clients.get(created.provider_id)


@scenario(covers=[C.CLIENTS_CONTACTS], requires=[C.CLIENTS_CREATE, C.CLIENTS_GET])
def test_client_contacts(target: Target) -> None:
    """A client with several contacts, each with name, e-mail and phone, keeps them all."""
    tag = target.tag()
    contacts = [
        Contact(name="Jan Peeters", email=f"jan-{tag}@client.example", phone="+32470123456"),
        Contact(name="Marie Dubois", email=f"marie-{tag}@client.example", phone="+32470654321"),
    ]
    sent = _plain(target, tag).model_copy(update={"contacts": contacts})
    created = target.books.clients.create(Client.model_validate(sent.model_dump()))
    assert created.provider_id is not None
    fetched = target.books.clients.get(created.provider_id)
    got = sorted((c.name, c.email, c.phone) for c in fetched.contacts)
    want = sorted((c.name, c.email, c.phone) for c in contacts)
    assert got == want, f"contacts: sent {want}, got {got}"


@scenario(covers=[C.CLIENTS_CHECK_VAT])
def test_check_vat_number(target: Target) -> None:
    assert target.books.clients.check_vat_number("BE0403019261") is True, "a valid, existing VAT number was refused"
    try:
        verdict = target.books.clients.check_vat_number("BE0403019262")
    except ValidationError:
        return  # refusing a number with wrong check digits as input is as good as answering False
    assert verdict is False, "a VAT number with wrong check digits was reported valid"
