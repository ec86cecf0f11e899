"""A credit note's number (required by Cashaca) under concurrent creates: the adapter's flow driven by hand.

Two creates can read the same next number; the loser's 422 "has already been taken" created nothing, so the
adapter reads the next number and tries again, a bounded number of times. A caller's own number is never
replaced.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from invoicekit_cashaca import CashacaAdapter
from invoicekit_cashaca._adapter import CREDIT_NOTE_NUMBER_ATTEMPTS

from invoicekit import Client, CreditNote, InvoiceRow
from invoicekit.adapter import Step
from invoicekit.errors import ValidationError

TAKEN = {"errors": {"serial_number": ["has already been taken"]}}


def a_note(**kw: Any) -> CreditNote:
    return CreditNote(
        issue_date=date(2026, 11, 2),
        client=Client(name="IT Services BV"),
        rows=[InvoiceRow(description="Refund", unit_price="10", vat_rate=21)],
        corrects_invoice_number="2026_0001",
        idempotency_key="refund-77",
        **kw,
    )


def answer(status: int, data: Any) -> httpx.Response:
    return httpx.Response(status, json=data, request=httpx.Request("GET", "https://app.cashaca.be/"))


def created(serial: str) -> dict[str, Any]:
    return {
        "id": 5,
        "serial_number": serial,
        "date": "2026-11-02",
        "internal_description": "refund-77",
        "client": {"id": 3, "name": "IT Services BV"},
    }


def drive(flow: Any, answers: list[httpx.Response]) -> tuple[list[Step], Any]:
    """Run ``flow`` with the answers in order; return the steps it made and its result."""
    steps = [next(flow)]
    try:
        for response in answers:
            steps.append(flow.send(response))
    except StopIteration as stop:
        return steps, stop.value
    raise AssertionError(f"the flow wants more than {len(answers)} answers: {steps[-1]}")


def serials(steps: list[Step]) -> list[str | None]:
    posts = [s.request.json for s in steps if s.request.method == "POST"]
    return [post["credit_note"].get("serial_number") for post in posts if post]


def test_a_taken_number_is_taken_again_from_the_next_one() -> None:
    adapter = CashacaAdapter(token="t-123456")
    steps, note = drive(
        adapter.create_credit_note(a_note()),
        [answer(200, "2026_0001"), answer(422, TAKEN), answer(200, "2026_0002"), answer(201, created("2026_0002"))],
    )
    assert [s.request.path for s in steps] == ["/next_credit_note_serial_number.json", "/credit_notes.json"] * 2
    assert serials(steps) == ["2026_0001", "2026_0002"]
    assert all(s.request.json["credit_note"]["internal_description"] == "refund-77" for s in steps[1::2])
    assert (note.number, note.idempotency_key) == ("2026_0002", "refund-77")


def test_a_422_whose_body_was_lost_is_taken_as_a_taken_number() -> None:
    adapter = CashacaAdapter(token="t-123456")
    lost = httpx.Response(422, content=b"", request=httpx.Request("POST", "https://app.cashaca.be/"))
    steps, note = drive(
        adapter.create_credit_note(a_note()),
        [answer(200, "2026_0001"), lost, answer(200, "2026_0002"), answer(201, created("2026_0002"))],
    )
    assert serials(steps) == ["2026_0001", "2026_0002"]
    assert note.number == "2026_0002"


def test_the_retries_are_bounded() -> None:
    adapter = CashacaAdapter(token="t-123456")
    answers = [answer(200, "2026_0001"), answer(422, TAKEN)] * CREDIT_NOTE_NUMBER_ATTEMPTS
    with pytest.raises(ValidationError) as exhausted:
        drive(adapter.create_credit_note(a_note()), answers)
    assert "number" in exhausted.value.fields
    assert exhausted.value.provider == "cashaca"


def test_another_refusal_is_not_retried() -> None:
    adapter = CashacaAdapter(token="t-123456")
    refusal = {"errors": {"date": ["can't be blank"]}}
    with pytest.raises(ValidationError) as refused:
        drive(adapter.create_credit_note(a_note()), [answer(200, "2026_0001"), answer(422, refusal)])
    assert "issue_date" in refused.value.fields


def test_a_callers_own_number_is_posted_as_given_and_never_replaced() -> None:
    adapter = CashacaAdapter(token="t-123456")
    flow = adapter.create_credit_note(a_note(number="CN-7"))
    step = next(flow)
    assert step.request.method == "POST"
    assert step.request.json is not None
    assert step.request.json["credit_note"]["serial_number"] == "CN-7"
    assert 422 not in step.allow  # a 422 on the caller's number is the caller's error, raised by the engine
