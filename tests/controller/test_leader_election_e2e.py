"""Replicas with leader election: one acts, a standby takes over when it dies, never both.

Two (then three) real operator processes share one Lease on the test's API server; task
creation and every other request are slowed down by the sandbox so that the leader is
killed in the middle of a pass, and a watcher checks the cap on every transformation
throughout. The handover times are printed (run with -s to see them).
"""

from __future__ import annotations

import json
import re
import signal
import time

from .operator_harness import IDENTITY, KEY, network_strategy, peak_actioned_by_transformation, wait_for

SCOPE = "acme-tyk2-run1"
LEASE_DURATION = 4.0  # seconds; retry period 0.53 s, renew deadline 2.67 s (client-go's proportions)


def passes(log: str, event: str) -> int:
    return len(re.findall(rf"iteration of \S+ {event}", log))


def test_a_standby_takes_over_from_a_dead_or_stopped_leader_and_the_cap_holds(
    sandbox, cluster, start_operator, namespace, kubectl
):
    from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator

    def holder() -> str:
        result = kubectl("get", "lease", "alchemiscale-strategy-operator", "-o", "json", check=False)
        return (
            (json.loads(result.stdout).get("spec") or {}).get("holderIdentity") or "" if result.returncode == 0 else ""
        )

    def leads(operator) -> bool:
        return "became the leader" in operator.log()

    election = (
        "--leader-election",
        "--operator-namespace",
        namespace,
        "--leader-election-lease-duration",
        str(LEASE_DURATION),
    )
    network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=60)
    cap = 2
    simulator = Simulator(sandbox.state, ComputeSettings(rate=2, duration=1.0, seed=61))
    simulator.start()
    try:
        with peak_actioned_by_transformation(sandbox.state, network) as worst:
            cluster.credentials(IDENTITY, KEY)
            first = start_operator(*election, default_server=True)
            wait_for(lambda: leads(first), timeout=30, what="the first replica to lead")
            second = start_operator(*election, default_server=True)
            cluster.apply(network_strategy("ha", network, sleepInterval=2, maxTasksPerTransformation=cap))
            wait_for(lambda: cluster.status("ha").get("iterations", 0) >= 2, timeout=60, what="two iterations")
            assert holder().startswith(first.log().split("identity ")[1].split(")")[0][:8])
            assert not leads(second) and passes(second.log(), "started") == 0  # the standby only waits

            # Slow everything down, task creation most, so the kill lands mid-pass.
            sandbox.faults.delay_next(10, 1.0, path_prefix="/bulk/transformations/tasks/create")
            sandbox.faults.delay_next(60, 0.3)
            wait_for(
                lambda: passes(first.log(), "started") > passes(first.log(), "finished"),
                timeout=30,
                what="a pass of the leader in flight",
            )
            time.sleep(0.5)
            killed = time.monotonic()
            first.kill()
            wait_for(lambda: leads(second), timeout=30, interval=0.05, what="the standby to take over")
            after_crash = time.monotonic() - killed
            wait_for(lambda: passes(second.log(), "finished") >= 2, timeout=60, what="passes by the new leader")
            sandbox.faults.clear()

            # A clean shutdown releases the Lease: the next standby starts within a retry period.
            third = start_operator(*election, default_server=True)
            time.sleep(1.0)
            assert not leads(third)
            stopped = time.monotonic()
            second.process.send_signal(signal.SIGTERM)
            wait_for(lambda: leads(third), timeout=30, interval=0.05, what="the third replica to take over")
            after_stop = time.monotonic() - stopped
            assert second.process.wait(timeout=30) == 0
            wait_for(lambda: passes(third.log(), "finished") >= 1, timeout=60, what="a pass by the third leader")
            assert passes(second.log(), "started") == passes(second.log(), "finished")
    finally:
        simulator.stop()

    print(
        f"\nhandover after SIGKILL: {after_crash:.1f} s (lease {LEASE_DURATION:g} s); "
        f"after SIGTERM: {after_stop:.1f} s (the stopping leader's pass, then the release)"
    )
    assert max(worst.values()) <= cap, worst
    # The standby waits a full lease duration from the last renewal it saw, then one retry period.
    assert LEASE_DURATION - 1.0 <= after_crash <= LEASE_DURATION + 6.0
    assert after_stop < after_crash
    assert "released the Lease" in second.log()


def test_a_leader_that_loses_its_lease_stops_its_passes_and_exits(sandbox, cluster, start_operator, namespace, kubectl):
    network = sandbox.state.generate_network("star", systems=4, scope=SCOPE, seed=62)
    cluster.credentials(IDENTITY, KEY)
    leader = start_operator(
        "--leader-election",
        "--operator-namespace",
        namespace,
        "--leader-election-lease-duration",
        "3",
        default_server=True,
    )
    wait_for(lambda: "became the leader" in leader.log(), timeout=30, what="the leader")
    cluster.apply(network_strategy("usurped", network, sleepInterval=1))
    wait_for(lambda: passes(leader.log(), "finished") >= 1, timeout=60, what="a pass")
    sandbox.faults.delay_next(100, 0.5)  # passes in flight when the Lease goes

    # Someone else holds the Lease now, and keeps renewing it.
    deadline = time.monotonic() + 20
    while leader.process.poll() is None and time.monotonic() < deadline:
        kubectl(
            "patch",
            "lease",
            "alchemiscale-strategy-operator",
            "--type=merge",
            "-p",
            json.dumps(
                {
                    "spec": {
                        "holderIdentity": "intruder",
                        "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime()),
                    }
                }
            ),
            check=False,
        )
        time.sleep(0.3)
    assert leader.process.wait(timeout=30) == 3
    log = leader.log()
    assert "lost the leadership" in log
    # Every pass it had started was either finished or abandoned before it exited.
    assert passes(log, "started") == passes(log, "finished")
    assert "released the Lease" not in log  # it was not its own any more
