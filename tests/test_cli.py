"""The ``invoicekit`` command: --version and the --json output of the commands that print data."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import httpx
from typer.testing import CliRunner

from invoicekit.cli import app
from invoicekit.registry import installed_providers

runner = CliRunner()


def test_version_is_the_installed_distributions() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"invoicekit {importlib.metadata.version('invoicekit')}"


def test_every_distribution_has_the_one_version() -> None:
    names = ["invoicekit", "invoicekit-cashaca", "invoicekit-eenvoudigfactureren", "invoicekit-conformance"]
    assert {importlib.metadata.version(name) for name in names} == {importlib.metadata.version("invoicekit")}


def test_providers_json_describes_every_installed_adapter() -> None:
    result = runner.invoke(app, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    plugins = installed_providers()
    assert [item["name"] for item in listed] == list(plugins)
    for item in listed:
        plugin = plugins[item["name"]]
        declared = plugin.create_adapter.capabilities  # type: ignore[attr-defined]
        assert item["capabilities"] == sorted(c.value for c in declared)
        assert item["credentials"] == list(plugin.credentials)
        assert item["sandbox"] is (plugin.create_sandbox is not None)
        assert item["title"] == plugin.title


def test_sandbox_serve_json_prints_where_to_connect() -> None:
    command = [sys.executable, "-m", "invoicekit.sandbox._cli", "serve", "cashaca", "--port", "0", "--json"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert info["provider"] == "cashaca"
        assert info["base_url"].startswith("http://127.0.0.1:")
        assert info["state"] is None
        response = httpx.get(f"{info['base_url']}/api/v2/clients.json", params=info["credentials"], timeout=10)
        assert response.status_code == 200
        assert response.json() == []
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_sandbox_serve_injects_the_faults_it_is_given() -> None:
    command = [sys.executable, "-m", "invoicekit.sandbox._cli", "serve", "cashaca", "--port", "0", "--json"]
    command += ["--throttle-rate", "1", "--seed", "1"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        response = httpx.get(f"{info['base_url']}/api/v2/clients.json", params=info["credentials"], timeout=10)
        assert (response.status_code, response.headers["retry-after"]) == (429, "1")
    finally:
        server.terminate()
        server.wait(timeout=10)
