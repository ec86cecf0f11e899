"""The error model: one tree, stdlib mix-ins, errors that pickle intact and are never changed once built."""

from __future__ import annotations

import copy
import pickle
import re
from typing import Any

import httpx
import pytest

import invoicekit
from invoicekit import errors
from invoicekit.belgium import validate_vat
from invoicekit.errors import FieldIssue, InvoicekitError, ValidationError
from invoicekit.ubl import ArtefactUnavailable, from_ubl
from invoicekit.xmlsafe import parse_xml

BODY = '{"errors": {"name": ["can\'t be blank"]}}'
ISSUES = (FieldIssue("name", "can't be blank"), FieldIssue("rows.0.vat_rate", "21 % is not in force on 2026-01-01"))

# One realistic instance of every public error class, built the way invoicekit builds it.
EXAMPLES: dict[type[InvoicekitError], InvoicekitError] = {
    errors.InvoicekitError: errors.InvoicekitError("something went wrong"),
    errors.ValidationError: errors.ValidationError(
        iter(ISSUES), provider="cashaca", status=422, request_id="4f2c-91", body=BODY
    ),
    errors.InvalidNumber: errors.InvalidNumber("check digits do not match (expected 61)"),
    errors.XmlError: errors.XmlError("the document is empty"),
    errors.UnsafeXml: errors.UnsafeXml("the DOCTYPE declares entities"),
    errors.XmlSyntaxError: errors.XmlSyntaxError("Opening and ending tag mismatch", line=3, column=14),
    errors.UblImportError: errors.UblImportError("the document has no cbc:IssueDate"),
    ArtefactUnavailable: ArtefactUnavailable("the peppol layer needs saxonche: pip install 'invoicekit[validate]'"),
    errors.UnsupportedOperation: errors.UnsupportedOperation("cashaca", "invoices.delete"),
    errors.UnknownProvider: errors.UnknownProvider("cashacca", ["cashaca", "eenvoudigfactureren"]),
    errors.ConfigurationError: errors.ConfigurationError("cashaca needs token= (your API token, Settings > API)"),
    errors.ProviderError: errors.ProviderError(
        "teapot", provider="cashaca", status=418, request_id="r-1", body="I'm a teapot"
    ),
    errors.AuthenticationError: errors.AuthenticationError(
        "invalid token", provider="cashaca", status=401, request_id="r-2", body='{"error": "invalid token"}'
    ),
    errors.PermissionDenied: errors.PermissionDenied("forbidden", provider="eenvoudigfactureren", status=403),
    errors.NotFound: errors.NotFound("not found", provider="cashaca", status=404, body='{"error": "not found"}'),
    errors.Conflict: errors.Conflict("number 2026_0001 is taken", provider="cashaca", status=409),
    errors.RateLimited: errors.RateLimited(
        "Too Many Requests", provider="eenvoudigfactureren", status=429, request_id="r-3", retry_after=2.5
    ),
    errors.ProviderUnavailable: errors.ProviderUnavailable("Service Unavailable", provider="cashaca", status=503),
    errors.ProviderRejected: errors.ProviderRejected(
        "the client cannot receive Peppol documents", provider="eenvoudigfactureren", status=400
    ),
    errors.MalformedResponse: errors.MalformedResponse(
        "the response body is not valid JSON", provider="cashaca", status=200
    ),
    errors.TransportError: errors.TransportError("ConnectTimeout", provider="cashaca"),
    errors.UncertainOutcome: errors.UncertainOutcome(
        "cashaca", "POST /invoices.json", "2026_0007", "ReadTimeout; the lookup failed: HTTP 503"
    ),
    errors.WriteLanded: errors.WriteLanded(
        "eenvoudigfactureren",
        "POST /invoices",
        "1001",
        None,
        errors.ProviderUnavailable("Service Unavailable", provider="eenvoudigfactureren", status=503),
    ),
}


def public_error_classes() -> list[type[BaseException]]:
    found = [getattr(errors, name) for name in errors.__all__]
    return [c for c in found if isinstance(c, type) and issubclass(c, BaseException)] + [ArtefactUnavailable]


def round_trip(error: BaseException, protocol: int = pickle.DEFAULT_PROTOCOL) -> Any:
    return pickle.loads(pickle.dumps(error, protocol=protocol))  # noqa: S301 - our own bytes, just made


def state(error: BaseException) -> dict[str, Any]:
    """Everything an error holds, compared by value (an error inside an error too, e.g. WriteLanded.cause)."""

    def value(item: Any) -> Any:
        if isinstance(item, BaseException):
            return state(item)
        if isinstance(item, tuple):
            return tuple(value(i) for i in item)
        if isinstance(item, dict):
            return {k: value(v) for k, v in item.items()}
        return item

    fields = {"type": type(error), "str": str(error), "repr": repr(error), "args": error.args, **vars(error)}
    return {key: value(item) for key, item in fields.items()}


def test_every_public_error_class_has_an_example() -> None:
    assert set(public_error_classes()) == set(EXAMPLES)


def test_every_public_error_inherits_the_base() -> None:
    for cls in public_error_classes():
        assert issubclass(cls, InvoicekitError), cls


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_pickles_and_unpickles_intact(cls: type[InvoicekitError]) -> None:
    error = EXAMPLES[cls]
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = round_trip(error, protocol)
        assert state(back) == state(error)
    assert state(copy.deepcopy(error)) == state(error)


def test_validation_error_keeps_its_issues_through_pickle() -> None:
    back = round_trip(EXAMPLES[ValidationError])
    assert isinstance(back, ValidationError)
    assert back.issues == ISSUES
    assert back.fields == ("name", "rows.0.vat_rate")
    assert (back.provider, back.status, back.request_id, back.body) == ("cashaca", 422, "4f2c-91", BODY)
    assert str(back) == (
        "invalid input (cashaca, HTTP 422, request id 4f2c-91): name: can't be blank; "
        "rows.0.vat_rate: 21 % is not in force on 2026-01-01"
    )


def test_notes_survive_pickle() -> None:
    error = errors.NotFound("not found", provider="cashaca", status=404)
    error.add_note("while fetching invoice 12")
    assert round_trip(error).__notes__ == ["while fetching invoice 12"]


def test_replace_builds_a_new_error_and_leaves_the_original_alone() -> None:
    original = EXAMPLES[errors.RateLimited]
    before = state(original)
    changed = original.replace(retry_after=10.0)
    assert state(original) == before
    assert isinstance(changed, errors.RateLimited)
    assert (changed.retry_after, changed.status, changed.request_id) == (10.0, 429, "r-3")
    with pytest.raises(TypeError, match="no argument named retry"):
        original.replace(retry=1)


def test_stdlib_mix_ins() -> None:
    assert issubclass(errors.ValidationError, ValueError)
    assert issubclass(errors.InvalidNumber, ValueError)
    assert issubclass(errors.XmlError, ValueError)
    assert issubclass(errors.UblImportError, ValueError)
    assert issubclass(errors.UnknownProvider, LookupError)


def test_errors_raised_outside_the_engine_are_in_the_tree() -> None:
    with pytest.raises(InvoicekitError) as number:
        validate_vat("BE0403019262")
    assert type(number.value) is errors.InvalidNumber
    with pytest.raises(InvoicekitError) as xml:
        parse_xml(b"<a><b></a>")
    assert type(xml.value) is errors.XmlSyntaxError
    with pytest.raises(InvoicekitError) as ubl:
        from_ubl(b"<Order xmlns='urn:x'/>")
    assert type(ubl.value) is errors.UblImportError


def _drawn_tree() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name -> (parent, mix-ins) as drawn in the errors module docstring."""
    drawn: dict[str, tuple[str, tuple[str, ...]]] = {}
    stack: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^    ((?:[│ ]   )*)(?:[├└]── )?([A-Z]\w+)(?: \(([\w, ]+)\))?(?: \.+|$)", line)
        if not match:
            continue
        depth = len(match[1]) // 4 + (1 if "──" in line else 0)
        del stack[depth:]
        parent = stack[-1] if stack else ""
        drawn[match[2]] = (parent, tuple(m.strip() for m in (match[3] or "").split(",") if m.strip()))
        stack.append(match[2])
    return drawn


def test_the_docstring_draws_the_real_tree() -> None:
    actual = {}
    for cls in public_error_classes():
        tree_bases = [b for b in cls.__bases__ if issubclass(b, InvoicekitError)]
        mix_ins = tuple(b.__name__ for b in cls.__bases__ if not issubclass(b, InvoicekitError))
        parent = tree_bases[0].__name__ if tree_bases else ""
        actual[cls.__name__] = (parent, mix_ins if cls is not InvoicekitError else ())
    assert _drawn_tree() == actual


# --- errors from a provider's answer ---------------------------------------------------------------------
TOKEN = "tok-3f9a1c"  # a made-up credential the test looks for in the output


def _answer(status: int, payload: str, **headers: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=payload, headers={"content-type": "application/json", **headers})

    return httpx.MockTransport(handler)


def test_a_provider_422_keeps_status_and_request_id() -> None:
    transport = _answer(422, BODY, **{"x-request-id": "req-77"})
    with (
        invoicekit.connect("cashaca", token=TOKEN, transport=transport) as books,
        pytest.raises(ValidationError) as info,
    ):
        books.clients.create(invoicekit.Client(name="IT Services BV"))
    error = info.value
    assert error.fields == ("client.name",)
    assert (error.provider, error.status, error.request_id, error.body) == ("cashaca", 422, "req-77", BODY)
    assert state(round_trip(error)) == state(error)


def test_an_engine_error_is_the_one_it_was_built_as() -> None:
    """The message is redacted when the error is built, not patched afterwards: a rebuilt copy is equal."""
    transport = _answer(401, f'{{"error": "token {TOKEN} is not valid"}}', **{"x-request-id": "req-78"})
    with (
        invoicekit.connect("cashaca", token=TOKEN, transport=transport) as books,
        pytest.raises(errors.AuthenticationError) as info,
    ):
        books.clients.get("1")
    error = info.value
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    assert TOKEN not in (error.body or "")
    assert error.request_id == "req-78"
    assert state(round_trip(error)) == state(error)


# --- assignment ------------------------------------------------------------------------------------------
def test_assigning_a_bad_value_raises_invoicekits_validation_error() -> None:
    row = invoicekit.InvoiceRow(description="Consultancy", quantity=8, unit_price="95.00", vat_rate=21)
    with pytest.raises(ValidationError) as info:
        row.unit_price = 0.1  # type: ignore[assignment]
    assert info.value.fields == ("unit_price",)
    assert "floats are not accepted" in info.value.issues[0].reason
    assert str(row.unit_price) == "95.00"  # the refused value did not land

    client = invoicekit.Client(name="IT Services BV")
    with pytest.raises(ValidationError) as info:
        client.vat_number = "BE0403019262"
    assert info.value.fields == ("vat_number",)
    assert "check digits" in info.value.issues[0].reason
    client.vat_number = "be 0403.019.261"
    assert client.vat_number == "BE0403019261"
