"""Griffe extension for the API reference: the docstrings' Sphinx roles become links.

invoicekit's docstrings are written to read well in ``help()``, with Sphinx-style roles
(``:class:`~invoicekit.errors.NotFound```, ``:meth:`close```). mkdocstrings renders Markdown and leaves
such roles as literal text, so this rewrites each into an optional cross-reference: a link when the name
resolves to a documented object (looked up from the docstring's own scope outwards, as Sphinx does), plain
code otherwise, and never a warning. No library does this (mkdocstrings has no Sphinx-role support).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import AliasResolutionError, CyclicAliasError, Extension, Object

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):`(?P<target>[^`]+)`")


def _resolve(obj: Object, name: str) -> str | None:
    """The path of the object ``name`` refers to, seen from ``obj``'s scope, or None."""
    scope: Object | None = obj
    while scope is not None:
        if name.startswith(f"{scope.path}."):
            return name
        try:
            return scope[name].path  # type: ignore[no-any-return]
        except (KeyError, ValueError, AttributeError, AliasResolutionError, CyclicAliasError):
            scope = scope.parent
    return name if name.startswith("invoicekit") else None


def _link(obj: Object, match: re.Match[str]) -> str:
    target = match["target"]
    shown_short = target.startswith("~")
    name = target.lstrip("~.").removesuffix("()")
    title = name.rsplit(".", 1)[-1] if shown_short else name
    path = _resolve(obj, name)
    code = f"<code>{title}</code>"
    return f'<autoref identifier="{path}" optional>{code}</autoref>' if path else code


def _rewrite(obj: Object) -> None:
    if obj.docstring is not None and ":" in obj.docstring.value:
        obj.docstring.value = _ROLE.sub(lambda match: _link(obj, match), obj.docstring.value)


class SphinxRoles(Extension):
    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        _rewrite(obj)

    def on_package(self, *, pkg: Object, **kwargs: Any) -> None:
        # A top-level package is not passed to on_object.
        _rewrite(pkg)
