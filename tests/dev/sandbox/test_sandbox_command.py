"""`strategy-operator sandbox` serves, prints the network SKs and the URL, stops on SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from strategy_operator_dev.sandbox.networks import sample_networks


def test_sandbox_command_serves_loaded_and_generated_networks():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "strategy_operator_dev.cli",
            "sandbox",
            "--port",
            "0",
            "--log-level",
            "warning",
            "--identity",
            "alice:alice-key:acme-*-*",
            "--network",
            str(sample_networks()["tyk2-star"]),
            "--generate",
            "path:4:acme-tyk2-run9",
            "--compute-rate",
            "5",
            "--compute-duration",
            "0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline().strip() for _ in range(3)]
        networks = [line.split(" ", 1)[1] for line in lines[:2]]
        assert lines[0].startswith("network AlchemicalNetwork-") and networks[1].endswith("-acme-tyk2-run9")
        assert lines[2].startswith("url http://127.0.0.1:")
        url = lines[2].split(" ", 1)[1]
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{url}/ping")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        token = httpx.post(f"{url}/token", data={"username": "alice", "password": "alice-key"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert len(httpx.get(f"{url}/networks/{networks[0]}/transformations", headers=headers).json()) == 6
        assert httpx.get(f"{url}/_sandbox/compute").json()["configured"] is True
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)


def test_sandbox_command_rejects_a_bad_network_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("scope: acme-tyk2-run1\nsystems: [a]\ntransformations: [{stateA: a, stateB: b}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "strategy_operator_dev.cli", "sandbox", "--port", "0", "--network", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "transformations[0].stateB" in result.stderr and result.stdout == ""
