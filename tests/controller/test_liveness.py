from strategy_operator.controller.liveness import LivenessTracker
from strategy_operator.controller.metrics import Metrics


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_due_resource_whose_timer_stopped_is_stalled():
    clock = Clock()
    tracker = LivenessTracker(grace=60, clock=clock)
    tracker.observe("u1", "ns/a", status="awake", active=True, due_in=0)
    tracker.ticked("u1")
    clock.now += 30
    assert tracker.stalled() == []
    clock.now += 100
    tracker.progressed()  # other resources progress, but this timer no longer ticks
    assert tracker.stalled() == ["ns/a"]
    tracker.ticked("u1")
    assert tracker.stalled() == []


def test_inactive_and_not_yet_due_resources_are_fine():
    clock = Clock()
    tracker = LivenessTracker(grace=60, clock=clock)
    tracker.observe("u1", "ns/disabled", status="disabled", active=False, due_in=0)
    tracker.observe("u2", "ns/later", status="dormant", active=True, due_in=3600)
    clock.now += 600
    assert tracker.stalled() == []
    tracker.forget("u2")
    assert tracker.by_status() == {"disabled": 1}


def test_no_progress_anywhere_is_stalled_even_if_timers_tick():
    clock = Clock()
    tracker = LivenessTracker(grace=60, clock=clock)
    tracker.observe("u1", "ns/a", status="awake", active=True, due_in=0)
    for _ in range(10):
        clock.now += 20
        tracker.ticked("u1")
    assert tracker.stalled() == ["ns/a"]


def test_metrics_exposition_includes_strategies_by_status():
    tracker = LivenessTracker(grace=60)
    tracker.observe("u1", "ns/a", status="dormant", active=True, due_in=10)
    metrics = Metrics(tracker.by_status)
    metrics.iterations.labels(result="iterated").inc()
    metrics.tasks.labels(change="created").inc(3)
    text = metrics.exposition().decode()
    assert 'strategy_operator_strategies{status="dormant"} 1.0' in text
    assert 'strategy_operator_iterations_total{result="iterated"} 1.0' in text
    assert 'strategy_operator_tasks_total{change="created"} 3.0' in text


def test_an_unanswering_kubernetes_api_fails_health_after_the_grace_while_resources_are_active():
    clock = Clock()
    tracker = LivenessTracker(grace=60, clock=clock)
    tracker.kube_unanswered()
    clock.now += 120
    assert tracker.kube_unreachable_for() is None  # nothing active: nothing is kept from running
    tracker.observe("u1", "ns/a", status="awake", active=True, due_in=0)
    assert tracker.kube_unreachable_for() == 120
    tracker.kube_unanswered()  # a later failure does not restart the count
    assert tracker.kube_unreachable_for() == 120
    tracker.kube_answered()
    assert tracker.kube_unreachable_for() is None
    tracker.kube_unanswered()
    clock.now += 30
    assert tracker.kube_unreachable_for() is None  # within the grace
