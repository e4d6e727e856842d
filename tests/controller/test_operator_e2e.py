"""End to end: the real kube-apiserver, the sandbox over HTTP, `strategy-operator run` as a process."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import timedelta

from strategy_operator.controller.scheduling import parse_time

from .operator_harness import (
    IDENTITY,
    KEY,
    OPERATOR_E2E,
    actioned_by_transformation,
    assert_recovers,
    assert_rides_out_outage,
    network_strategy,
    peak_actioned_by_transformation,
    planned_now,
    wait_for,
)

pytestmark = OPERATOR_E2E

SCOPE = "acme-tyk2-run1"


def expected_plan(sandbox, network: str, **spec):
    """What the engine plans for the network as it is now, observed over the same HTTP API."""
    return planned_now(sandbox.url, IDENTITY, KEY, network, **spec)


def test_first_iteration_actions_tasks_exactly_as_the_engine_plans(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=1)
    spec = {"taskScaling": "linear", "maxTasksPerTransformation": 4, "sleepInterval": 3600}
    plan = expected_plan(sandbox, network, **spec)
    assert plan.ran and sum(plan.create.values()) > 0

    cluster.credentials(IDENTITY, KEY)
    operator = start_operator(default_server=True)
    cluster.apply(network_strategy("first", network, **spec))

    status = wait_for(
        lambda: cluster.status("first").get("iterations") == 1 and cluster.status("first"),
        timeout=60,
        what="the first iteration",
    )
    assert actioned_by_transformation(sandbox.state, network) == Counter({t: n for t, n in plan.targets.items() if n})
    assert dict(actioned_by_transformation(sandbox.state, network)) == {t: n for t, n in plan.create.items() if n}
    assert status["status"] == "awake"
    assert status["lastIterationResultCount"] == 0
    assert status["observedGeneration"] == cluster.resource("first")["metadata"]["generation"]
    assert status["effectiveSleepInterval"] == 3600
    summary = status["lastIterationSummary"]
    assert summary["tasksCreated"] == sum(plan.create.values())
    assert summary["transformationsWeighted"] == plan.summary.transformations_weighted
    last = parse_time(status["lastIteration"])
    assert parse_time(status["nextIteration"]) == last + timedelta(seconds=3600)
    ready = cluster.condition("first", "Ready")
    assert ready["status"] == "True" and ready["reason"] == "Iterated"
    assert cluster.condition("first", "Degraded")["status"] == "False"
    reasons = {event["reason"] for event in cluster.events("first")}
    assert "Iterated" in reasons

    # Not due again for an hour: further ticks change nothing.
    time.sleep(3)
    assert cluster.status("first")["iterations"] == 1
    assert sum(actioned_by_transformation(sandbox.state, network).values()) == sum(plan.create.values())

    # Metrics and probes.
    code, text = operator.get("/metrics")
    assert code == 200
    assert re.search(r'strategy_operator_iterations_total\{result="iterated"\} 1\.0', text)
    assert re.search(r'strategy_operator_tasks_total\{change="created"\} %d\.0' % sum(plan.create.values()), text)
    assert 'strategy_operator_strategies{status="awake"} 1.0' in text
    assert operator.get("/healthz")[0] == 200
    # Credentials never reach logs.
    assert KEY not in operator.log()


def passes(log: str, event: str) -> int:
    """How many iterations the operator's log says have `event` (started or finished)."""
    return len(re.findall(rf"iteration of \S+ {event}", log))


def results_of(sandbox, network: str) -> dict[str, int]:
    return {t: len(sandbox.state.transformation_results(t)) for t in sandbox.state.transformations(network)}


def test_simulated_compute_finishes_tasks_and_the_strategy_goes_dormant(sandbox, cluster, start_operator):
    from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator

    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=2)
    simulator = Simulator(sandbox.state, ComputeSettings(rate=50, duration=0.05, seed=3))
    simulator.start()
    try:
        cluster.credentials(IDENTITY, KEY)
        start_operator(default_server=True)
        cluster.apply(network_strategy("converge", network, sleepInterval=1, maxTasksPerTransformation=2))
        status = wait_for(
            lambda: cluster.status("converge").get("status") == "dormant" and cluster.status("converge"),
            timeout=120,
            what="the strategy to go dormant",
        )
    finally:
        simulator.stop()
    results = results_of(sandbox, network)
    assert all(count >= 3 for count in results.values()), results  # ConnectivityStrategy max_runs 3
    assert status["lastIterationResultCount"] == sum(results.values())
    assert status["iterations"] >= 2
    assert cluster.condition("converge", "Ready")["reason"] == "Dormant"
    assert cluster.condition("converge", "Progressing")["status"] == "False"
    assert "Dormant" in {event["reason"] for event in cluster.events("converge")}

    # Dormant: each interval costs only the result-count check; nothing is counted or changed.
    time.sleep(3)
    assert cluster.status("converge")["iterations"] == status["iterations"]

    # Network progress, upstream's get_network_status: every task of the network by status.
    expected = dict.fromkeys(("waiting", "running", "complete", "error", "invalid", "deleted"), 0)
    expected.update(sandbox.state.network_status(network))
    assert expected["complete"] >= 3 * len(results)
    wait_for(
        lambda: cluster.status("converge").get("taskCounts") == expected,
        timeout=15,
        what=f"status.taskCounts to show the network's tasks {expected}",
    )

    # A new result wakes it in the same pass (and, every transformation being done, it sleeps again).
    transformation = sandbox.state.transformations(network)[0]
    [task] = sandbox.state.create_tasks([transformation])
    sandbox.state.claim_task(task)
    sandbox.state.complete_task(task, ok=True)
    after = wait_for(
        lambda: cluster.status("converge").get("iterations", 0) > status["iterations"] and cluster.status("converge"),
        timeout=30,
        what="a pass counting the new result",
    )
    assert after["iterations"] == status["iterations"] + 1
    assert after["lastIterationResultCount"] == status["lastIterationResultCount"] + 1
    assert after["status"] == "dormant"


def _action_tasks(sandbox, network: str, per_transformation: int) -> None:
    from strategy_operator.scopedkey import ScopedKey

    for transformation in sandbox.state.transformations(network):
        tasks = sandbox.state.create_tasks([transformation] * per_transformation)
        sandbox.state.action_tasks(ScopedKey.from_str(network), tasks)


def test_full_mode_cancels_and_partial_mode_does_not(sandbox, cluster, start_operator):
    full_network = sandbox.state.generate_network("star", systems=4, scope=SCOPE, seed=4)
    partial_network = sandbox.state.generate_network("star", systems=4, scope=SCOPE, seed=5)
    for network in (full_network, partial_network):
        _action_tasks(sandbox, network, 3)
    plan = expected_plan(sandbox, full_network, mode="full")
    assert plan.cancel, "the setup must leave the full-mode strategy something to cancel"

    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    cluster.apply(network_strategy("full", full_network, mode="full", sleepInterval=3600))
    cluster.apply(network_strategy("partial", partial_network, mode="partial", sleepInterval=3600))
    for name in ("full", "partial"):
        wait_for(lambda: cluster.status(name).get("iterations") == 1, timeout=60, what=f"{name}'s iteration")

    assert dict(actioned_by_transformation(sandbox.state, full_network)) == {t: n for t, n in plan.targets.items() if n}
    assert cluster.status("full")["lastIterationSummary"]["tasksCancelled"] == len(plan.cancel)
    assert set(actioned_by_transformation(sandbox.state, partial_network).values()) == {3}
    assert cluster.status("partial")["lastIterationSummary"]["tasksCancelled"] == 0


def test_disabled_stops_iterations_and_a_spec_change_takes_effect(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=6)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    cluster.apply(network_strategy("sleepy", network, mode="disabled", sleepInterval=1))
    wait_for(
        lambda: cluster.condition("sleepy", "Ready").get("reason") == "Disabled",
        timeout=30,
        what="the Disabled condition",
    )
    time.sleep(2)
    assert "iterations" not in cluster.status("sleepy")
    assert not actioned_by_transformation(sandbox.state, network)
    assert "Disabled" in {event["reason"] for event in cluster.events("sleepy")}

    cluster.patch_spec("sleepy", {"mode": "partial"})
    wait_for(lambda: cluster.status("sleepy").get("iterations", 0) >= 1, timeout=30, what="iterations to start")
    assert actioned_by_transformation(sandbox.state, network)
    resource = cluster.resource("sleepy")
    assert resource["spec"]["mode"] == "partial"  # never reverted by a status write
    assert resource["status"]["observedGeneration"] == resource["metadata"]["generation"]

    cluster.patch_spec("sleepy", {"mode": "disabled"})
    wait_for(
        lambda: cluster.condition("sleepy", "Ready").get("reason") == "Disabled",
        timeout=30,
        what="the Disabled condition again",
    )
    count = cluster.status("sleepy")["iterations"]
    time.sleep(3)
    assert cluster.status("sleepy")["iterations"] == count
    assert cluster.resource("sleepy")["spec"]["mode"] == "disabled"


def _assert_error(cluster, name: str, kind: str) -> dict:
    status = wait_for(
        lambda: cluster.status(name).get("status") == "error" and cluster.status(name),
        timeout=60,
        what=f"{name} in error",
    )
    assert status["exception"]["type"] == kind, status["exception"]
    assert status["traceback"] and KEY not in status["traceback"] and KEY not in status["exception"]["message"]
    degraded = cluster.condition(name, "Degraded")
    assert degraded["status"] == "True" and degraded["reason"] == kind
    assert cluster.condition(name, "Ready")["status"] == "False"
    warnings = [e for e in cluster.events(name) if e["type"] == "Warning"]
    assert kind in {e["reason"] for e in warnings}
    assert all(KEY not in e["message"] for e in cluster.events(name))
    return status


def test_scope_the_identity_may_not_use_is_an_error_until_woken(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope="acme-other-run1", seed=7)
    cluster.credentials(IDENTITY, KEY)
    operator = start_operator(default_server=True)
    cluster.apply(network_strategy("forbidden", network, sleepInterval=1))
    status = _assert_error(cluster, "forbidden", "ScopeNotPermitted")
    time.sleep(3)  # errors stop iterations
    assert cluster.status("forbidden")["iterations"] == status["iterations"]

    sandbox.state.add_identity(IDENTITY, KEY, ["acme-tyk2-*", "acme-other-*"])
    cluster.wake("forbidden", "fixed-1")
    woken = wait_for(
        lambda: cluster.status("forbidden").get("status") == "awake" and cluster.status("forbidden"),
        timeout=30,
        what="the woken strategy to iterate",
    )
    assert woken["lastWakeToken"] == "fixed-1"
    assert "exception" not in woken and "traceback" not in woken
    assert woken["iterations"] > status["iterations"]
    assert actioned_by_transformation(sandbox.state, network)
    assert cluster.condition("forbidden", "Degraded")["status"] == "False"
    assert KEY not in operator.log()


def test_scope_outside_the_operators_allowed_scopes_is_refused(sandbox, cluster, start_operator):
    allowed = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run1", seed=8)
    refused = sandbox.state.generate_network("star", systems=3, scope="acme-tyk2-run2", seed=9)
    cluster.credentials(IDENTITY, KEY)
    start_operator("--allowed-scopes", "acme-tyk2-run1", default_server=True)
    cluster.apply(network_strategy("refused", refused, sleepInterval=1))
    cluster.apply(network_strategy("allowed", allowed, sleepInterval=3600))
    status = _assert_error(cluster, "refused", "ScopeNotAllowed")
    assert "acme-tyk2-run2" in status["exception"]["message"] and "acme-tyk2-run1" in status["exception"]["message"]
    wait_for(lambda: cluster.status("allowed").get("iterations") == 1, timeout=30, what="the allowed network")
    assert not actioned_by_transformation(sandbox.state, refused)
    assert actioned_by_transformation(sandbox.state, allowed)


def test_missing_credentials_secret_is_an_error_until_created_and_woken(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=10)
    start_operator(default_server=True)
    cluster.apply(network_strategy("nocreds", network, secret="late-creds", sleepInterval=1))
    status = _assert_error(cluster, "nocreds", "CredentialsSecretNotFound")
    assert "late-creds" in status["exception"]["message"]
    cluster.credentials(IDENTITY, KEY, name="late-creds")
    time.sleep(2)
    assert cluster.status("nocreds")["status"] == "error"  # only a wake-up resumes it
    cluster.wake("nocreds", "1")
    wait_for(lambda: cluster.status("nocreds").get("status") == "awake", timeout=30, what="the woken strategy")
    assert actioned_by_transformation(sandbox.state, network)


def test_invalid_credentials_are_an_error(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=11)
    cluster.credentials(IDENTITY, "not-the-key-at-all")
    start_operator(default_server=True)
    cluster.apply(network_strategy("badcreds", network, sleepInterval=1))
    status = _assert_error(cluster, "badcreds", "InvalidCredentials")
    assert "not-the-key-at-all" not in status["traceback"]


def test_transient_outage_recovers_without_error(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=12)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    sandbox.faults.outage(True)
    cluster.apply(network_strategy("flaky", network, sleepInterval=3600))
    assert_rides_out_outage(cluster, "flaky", timeout=60)
    assert "AlchemiscaleUnreachable" in {event["reason"] for event in cluster.events("flaky")}
    sandbox.faults.outage(False)
    assert_recovers(cluster, "flaky", timeout=60, what="recovery")
    assert cluster.condition("flaky", "Degraded")["status"] == "False"
    assert actioned_by_transformation(sandbox.state, network)


def test_delete_stops_promptly_and_cancels_only_when_asked(sandbox, cluster, start_operator):
    keep = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=13)
    cancel = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=14)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    cluster.apply(network_strategy("keep", keep, sleepInterval=3600))
    cluster.apply(network_strategy("cancel", cancel, sleepInterval=3600, cancelTasksOnDelete=True))
    for name in ("keep", "cancel"):
        wait_for(lambda: cluster.status(name).get("iterations") == 1, timeout=60, what=f"{name}'s iteration")
    kept = actioned_by_transformation(sandbox.state, keep)
    assert kept and actioned_by_transformation(sandbox.state, cancel)

    started = time.monotonic()
    cluster.delete("keep")
    cluster.delete("cancel")
    assert time.monotonic() - started < 20
    assert not cluster.resource("keep") and not cluster.resource("cancel")
    assert actioned_by_transformation(sandbox.state, keep) == kept
    assert not actioned_by_transformation(sandbox.state, cancel)
    tasks = sandbox.state.network_tasks(cancel)
    assert tasks and all(sandbox.state.task_status(t) == "waiting" for t in tasks)  # un-actioned, not deleted


def test_operator_killed_mid_run_keeps_the_schedule_and_the_task_cap(sandbox, cluster, start_operator):
    from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator

    network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=15)
    interval, cap = 6, 2
    simulator = Simulator(sandbox.state, ComputeSettings(rate=2, duration=1.0, seed=16))
    simulator.start()
    history: list[tuple[int, str]] = []

    def record() -> dict:
        status = cluster.status("crash")
        if status.get("lastIteration") and (status["iterations"], status["lastIteration"]) not in history:
            history.append((status["iterations"], status["lastIteration"]))
        return status

    with peak_actioned_by_transformation(sandbox.state, network) as worst:
        try:
            cluster.credentials(IDENTITY, KEY)
            first = start_operator(default_server=True)
            cluster.apply(network_strategy("crash", network, sleepInterval=interval, maxTasksPerTransformation=cap))
            wait_for(lambda: record().get("iterations") == 1, timeout=60, what="the first iteration")
            # Slow every request down so that the next iteration is surely in flight when killed.
            wait_for(lambda: passes(first.log(), "finished") >= 1, timeout=30, what="the first iteration to finish")
            sandbox.faults.delay_next(40, 0.4)
            wait_for(lambda: passes(first.log(), "started") >= 2, timeout=30, what="the second iteration to start")
            time.sleep(0.6)
            first.kill()
            log = first.log()
            assert passes(log, "started") > passes(log, "finished"), "the kill must land mid-iteration"
            before = record()
            sandbox.faults.clear()

            start_operator(default_server=True)
            wait_for(
                lambda: record().get("iterations", 0) >= before["iterations"] + 2,
                timeout=90,
                what="two iterations after the restart",
            )
        finally:
            simulator.stop()

    counts = [n for n, _ in history]
    assert counts == sorted(counts) and counts[0] == 1  # never reset
    times = [parse_time(t) for _, t in history]
    for earlier, later in zip(times, times[1:]):
        assert (later - earlier).total_seconds() >= interval, history  # never early after the restart
    assert max(worst.values()) <= cap, worst


def test_many_resources_respect_max_workers(sandbox, cluster, start_operator):
    networks = [sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=20 + i) for i in range(5)]
    cluster.credentials(IDENTITY, KEY)
    sandbox.faults.delay_next(200, 0.2)
    operator = start_operator("--max-workers", "2", default_server=True)
    for i, network in enumerate(networks):
        cluster.apply(network_strategy(f"many-{i}", network, sleepInterval=3600))
    for i in range(len(networks)):
        wait_for(lambda: cluster.status(f"many-{i}").get("iterations") == 1, timeout=120, what=f"many-{i}")

    running = peak = 0
    for line in operator.log().splitlines():
        if passes(line, "started"):
            running += 1
            peak = max(peak, running)
        elif passes(line, "finished"):
            running -= 1
    assert peak == 2, operator.log()


def test_healthz_fails_while_a_due_resource_is_not_being_iterated(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=30)
    cluster.credentials(IDENTITY, KEY)
    operator = start_operator("--liveness-grace", "2", default_server=True)
    assert operator.get("/healthz")[0] == 200
    sandbox.faults.delay_next(1, 12)  # the first request hangs: the pass cannot progress
    cluster.apply(network_strategy("stuck", network, sleepInterval=3600))
    code, body = wait_for(
        lambda: (r := operator.get("/healthz"))[0] == 503 and r, timeout=30, what="/healthz to report the stall"
    )
    assert "stuck" in body
    wait_for(lambda: cluster.status("stuck").get("iterations") == 1, timeout=60, what="the delayed pass")
    wait_for(lambda: operator.get("/healthz")[0] == 200, timeout=30, what="/healthz to recover")


def test_two_resources_on_one_network_never_exceed_the_task_cap(sandbox, cluster, start_operator):
    # Two plans from the same snapshot would both create the missing tasks and double every
    # transformation's actioned count: one network has one owner (created first; in one
    # second, namespace/name decide), the other stays idle. More in test_reliability_e2e.py.
    network = sandbox.state.generate_network("star", systems=5, scope=SCOPE, seed=40)
    cap = 1
    with peak_actioned_by_transformation(sandbox.state, network) as worst:
        cluster.credentials(IDENTITY, KEY)
        sandbox.faults.delay_next(60, 0.3)  # long passes, so that the two surely overlap unless serialised
        start_operator(default_server=True)
        cluster.apply(
            network_strategy("twin-a", network, sleepInterval=3600, maxTasksPerTransformation=cap)
            + "---\n"
            + network_strategy("twin-b", network, sleepInterval=3600, maxTasksPerTransformation=cap)
        )
        wait_for(lambda: cluster.status("twin-a").get("iterations") == 1, timeout=90, what="twin-a's iteration")
        wait_for(
            lambda: cluster.condition("twin-b", "Ready").get("reason") == "NetworkOwnedElsewhere",
            timeout=30,
            what="twin-b to stay idle",
        )
        time.sleep(1)
    assert worst and max(worst.values()) <= cap, worst
    created = cluster.status("twin-a")["lastIterationSummary"]["tasksCreated"]
    assert created == len(sandbox.state.transformations(network))
    assert "iterations" not in cluster.status("twin-b")


def test_credentials_never_reach_debug_logs_status_or_events(sandbox, cluster, start_operator, kubectl):
    import base64

    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=41)
    other = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=42)
    wrong = "wrong-key-for-alice-4567"
    cluster.credentials(IDENTITY, KEY)
    cluster.credentials(IDENTITY, wrong, name="wrong-creds")
    operator = start_operator("--log-level", "debug", default_server=True)
    cluster.apply(network_strategy("login", network, sleepInterval=1))
    cluster.apply(network_strategy("rejected", other, secret="wrong-creds", sleepInterval=1))
    wait_for(lambda: cluster.status("login").get("iterations", 0) >= 1, timeout=60, what="a login and iteration")
    _assert_error(cluster, "rejected", "InvalidCredentials")
    sandbox.faults.outage(True)
    wait_for(
        lambda: cluster.condition("login", "Degraded").get("reason") == "AlchemiscaleUnreachable",
        timeout=60,
        what="the outage to be noticed",
    )
    sandbox.faults.outage(False)
    wait_for(
        lambda: cluster.condition("login", "Degraded").get("status") == "False",
        timeout=60,
        what="recovery from the outage",
    )

    log = operator.log()
    assert "[DEBUG" in log and "status of " in log, "the operator must really log at debug level"
    resources = kubectl("get", "networkstrategies", "-o", "yaml").stdout
    events = kubectl("get", "events", "-o", "yaml").stdout
    for secret in (KEY, wrong):
        encoded = base64.b64encode(secret.encode()).decode()
        for where, text in (("log", log), ("status", resources), ("events", events)):
            assert secret not in text and encoded not in text, f"a credential reached the {where}"
    assert not re.search(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.", log + resources + events), (
        "an alchemiscale token reached a log, status or event"
    )


def _refuse_status_writes(kubectl, namespace: str, name: str, *, from_iteration: int) -> str:
    """A ValidatingAdmissionPolicy refusing every status write of one resource from an iteration on."""
    policy = f"refuse-status-{namespace}"[:63]
    manifest = f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: {policy}}}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [alchemiscale.org]
      apiVersions: [v1alpha1]
      operations: [UPDATE]
      resources: [networkstrategies/status]
  validations:
  - expression: >-
      object.metadata.namespace != '{namespace}' || object.metadata.name != '{name}'
      || !has(object.status.iterations) || object.status.iterations < {from_iteration}
    message: refused by the test's admission policy
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: {policy}}}
spec:
  policyName: {policy}
  validationActions: [Deny]
"""
    kubectl("apply", "-f", "-", input=manifest)
    return policy


def test_a_refused_status_write_is_reported_and_the_resource_keeps_iterating(
    sandbox, cluster, start_operator, kubectl, namespace
):
    # docs/operator.md, "One pass", step 5: a status patch the API server refuses must not silently end the
    # resource's timer; the refusal is reported and the next write catches up.
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=43)
    policy = _refuse_status_writes(kubectl, namespace, "refused-status", from_iteration=2)
    try:
        cluster.credentials(IDENTITY, KEY)
        operator = start_operator(default_server=True)
        cluster.apply(network_strategy("refused-status", network, sleepInterval=1))
        wait_for(
            lambda: cluster.status("refused-status").get("iterations") == 1,
            timeout=60,
            what="the first (admitted) status",
        )
        wait_for(
            lambda: "StatusWriteRefused" in {e["reason"] for e in cluster.events("refused-status")},
            timeout=60,
            what="a StatusWriteRefused event",
        )
        assert "refused by the test's admission policy" in operator.log()
        assert cluster.status("refused-status")["iterations"] == 1
    finally:
        kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy, check=False)
    status = wait_for(
        lambda: cluster.status("refused-status").get("iterations", 0) >= 3 and cluster.status("refused-status"),
        timeout=60,
        what="status writes to resume without an operator restart",
    )
    assert status["status"] in ("awake", "dormant")
    assert operator.process is not None and operator.process.poll() is None


def test_waking_a_dormant_strategy_runs_a_full_iteration(sandbox, cluster, start_operator):
    # The user guide's `set_network_strategy_awake` on a dormant strategy, as an annotation.
    from strategy_operator_dev.sandbox.simulator import ComputeSettings, Simulator

    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=44)
    simulator = Simulator(sandbox.state, ComputeSettings(rate=50, duration=0.05, seed=45))
    simulator.start()
    try:
        cluster.credentials(IDENTITY, KEY)
        start_operator(default_server=True)
        cluster.apply(
            network_strategy(
                "asleep",
                network,
                sleepInterval=3600,
                maxTasksPerTransformation=1,
                strategy={"name": "ConnectivityStrategy", "settings": {"max_runs": 1}},
            )
        )
        wait_for(lambda: cluster.status("asleep").get("iterations") == 1, timeout=60, what="the first iteration")
        wait_for(
            lambda: all(n >= 1 for n in results_of(sandbox, network).values()), timeout=60, what="the simulated compute"
        )
    finally:
        simulator.stop()
    # Not due for an hour: only a wake-up can make it notice that every transformation is done.
    time.sleep(2)
    assert cluster.status("asleep")["iterations"] == 1
    cluster.wake("asleep", "first")
    dormant = wait_for(
        lambda: cluster.status("asleep").get("status") == "dormant" and cluster.status("asleep"),
        timeout=30,
        what="the woken strategy to find its work done",
    )
    assert dormant["iterations"] == 2 and dormant["lastWakeToken"] == "first"

    cluster.wake("asleep", "second")
    again = wait_for(
        lambda: cluster.status("asleep").get("lastWakeToken") == "second" and cluster.status("asleep"),
        timeout=30,
        what="the dormant strategy to be woken",
    )
    assert again["iterations"] == 3 and again["status"] == "dormant"  # a full iteration, not the cheap check
    time.sleep(2)
    assert cluster.status("asleep")["iterations"] == 3


def test_a_rotated_key_and_a_new_server_url_are_used_from_the_next_pass(sandbox, cluster, start_operator, kubectl):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=46)
    other_url = sandbox.url.replace("127.0.0.1", "localhost")
    assert other_url != sandbox.url
    cluster.credentials(IDENTITY, KEY, servers=(sandbox.url, other_url))
    start_operator(allowed_servers=(sandbox.url, other_url))
    cluster.apply(network_strategy("rotate", network, url=sandbox.url, sleepInterval=1))
    wait_for(lambda: cluster.status("rotate").get("iterations", 0) >= 2, timeout=60, what="two iterations")

    def logins() -> int:
        return sandbox.requests.count("POST", "/token")

    def iterating_after(count: int) -> dict:
        status = cluster.status("rotate")
        return status if status.get("iterations", 0) > count and status.get("status") != "error" else {}

    # The key is rotated in alchemiscale and in the Secret; the old token would still be accepted,
    # so only a fresh login proves that the new key is in use.
    rotated = "alice-rotated-key-8901"
    sandbox.state.add_identity(IDENTITY, rotated, ["acme-tyk2-*"])
    before = logins()
    secret = kubectl(
        "create",
        "secret",
        "generic",
        "alchemiscale-creds",
        f"--from-literal=identifier={IDENTITY}",
        f"--from-literal=key={rotated}",
        "--dry-run=client",
        "-o",
        "yaml",
    ).stdout
    kubectl("apply", "-f", "-", input=secret)
    wait_for(lambda: logins() > before, timeout=30, what="a login with the rotated key")
    status = wait_for(
        lambda: iterating_after(cluster.status("rotate")["iterations"]),
        timeout=30,
        what="iterations with the rotated key",
    )
    assert "exception" not in status

    # The same server under another name is another server to the operator: a new session.
    before = logins()
    cluster.patch_spec("rotate", {"server": {"url": other_url}})
    wait_for(lambda: logins() > before, timeout=30, what="a login at the new URL")
    generation = cluster.resource("rotate")["metadata"]["generation"]
    status = wait_for(
        lambda: (
            (s := cluster.status("rotate")).get("observedGeneration") == generation and s.get("status") != "error" and s
        ),
        timeout=30,
        what="a pass with the new URL",
    )
    assert "exception" not in status


def test_lowering_sleep_interval_while_waiting_moves_the_next_iteration(sandbox, cluster, start_operator):
    network = sandbox.state.generate_network("star", systems=3, scope=SCOPE, seed=47)
    cluster.credentials(IDENTITY, KEY)
    start_operator(default_server=True)
    cluster.apply(network_strategy("hasty", network, sleepInterval=3600))
    first = wait_for(
        lambda: cluster.status("hasty").get("iterations") == 1 and cluster.status("hasty"),
        timeout=60,
        what="the first iteration",
    )
    cluster.patch_spec("hasty", {"sleepInterval": 2})
    second = wait_for(
        lambda: cluster.status("hasty").get("iterations") == 2 and cluster.status("hasty"),
        timeout=30,
        what="an iteration on the new interval, not an hour later",
    )
    gap = (parse_time(second["lastIteration"]) - parse_time(first["lastIteration"])).total_seconds()
    assert gap >= 2, (first, second)
    assert second["effectiveSleepInterval"] == 2
    assert parse_time(second["nextIteration"]) == parse_time(second["lastIteration"]) + timedelta(seconds=2)
