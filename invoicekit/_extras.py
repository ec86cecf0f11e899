"""Optional extras of the ``invoicekit`` distribution, and the error that names a missing one."""

from __future__ import annotations

from importlib.util import find_spec

from invoicekit.errors import ConfigurationError

__all__ = ["SUBMODULE_EXTRAS", "missing_extra", "require_extra"]

# What each extra brings (the modules checked), as declared in pyproject.toml.
EXTRAS: dict[str, tuple[str, ...]] = {
    "cli": ("typer", "rich"),
    "sandbox": ("starlette", "uvicorn", "reportlab"),
    "ubl": ("lxml", "facturx"),
    "validate": ("saxonche",),
}

# The submodules of ``invoicekit`` that need an extra to import, and the extra, with what it is for. Reached as
# an attribute (``invoicekit.cli``) a missing one is an AttributeError, so ``hasattr`` answers False; the
# import statement raises the ConfigurationError naming the extra (each module calls require_extra first).
SUBMODULE_EXTRAS: dict[str, tuple[str, str]] = {
    "cli": ("cli", "the invoicekit command"),
    "sandbox": ("sandbox", "the sandbox"),
    "ubl": ("ubl", "UBL export, import and validation"),
}


def missing_extra(extra: str, what: str) -> str | None:
    """The message naming ``extra`` when one of its modules is not installed, else None."""
    if all(find_spec(module) is not None for module in EXTRAS[extra]):
        return None
    return f"{what} needs the {extra!r} extra: pip install 'invoicekit[{extra}]'"


def require_extra(extra: str, what: str) -> None:
    """Raise ConfigurationError naming ``extra`` when it is not installed."""
    message = missing_extra(extra, what)
    if message is not None:
        raise ConfigurationError(message)
