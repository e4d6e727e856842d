from datetime import UTC, datetime, timedelta

from strategy_operator.controller import conditions
from strategy_operator.text import bound_head, bound_tail, scrub

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_scrub_removes_known_secrets_userinfo_tokens_and_jwts():
    text = (
        "POST https://alice:s3cr3t-key@alchemiscale.example.org/token failed; "
        "key=s3cr3t-key Authorization: Bearer abcdefghijklmnop "
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl "
        "{'key': 'other-secret'}"
    )
    cleaned = scrub(text, ["s3cr3t-key"])
    for secret in ("s3cr3t-key", "alice:", "abcdefghijklmnop", "eyJhbGciOiJIUzI1NiJ9", "other-secret"):
        assert secret not in cleaned
    assert "alchemiscale.example.org/token" in cleaned


def test_scrub_leaves_ordinary_text_alone():
    text = "NetworkNotFound: AlchemicalNetwork-abc-acme-tyk2-run1 does not exist"
    assert scrub(text, []) == text


def test_bounds():
    assert bound_head("x" * 10, 20) == "x" * 10
    head = bound_head("a" * 100 + "b" * 2000, 100)
    assert len(head) == 100 and head.startswith("a")
    tail = bound_tail("a" * 10000 + "LAST LINE", 200)
    assert len(tail) == 200 and tail.endswith("LAST LINE")


def test_conditions_keep_transition_time_while_status_is_unchanged():
    first = conditions.merge([], conditions.iterated("ok"), now=T0, generation=1)
    assert [c.type for c in first] == ["Ready", "Progressing", "Degraded"]
    assert all(c.model_dump(mode="json")["last_transition_time"] == "2026-11-25T12:00:00Z" for c in first)
    later = T0 + timedelta(minutes=5)
    second = conditions.merge(first, conditions.dormant("done"), now=later, generation=2)
    by_type = {c.type: c for c in second}
    assert by_type["Ready"].last_transition_time == T0  # True -> True
    assert by_type["Ready"].reason == "Dormant"
    assert by_type["Progressing"].last_transition_time == later  # True -> False
    assert all(c.observed_generation == 2 for c in second)


def test_failed_and_unreachable_are_degraded():
    failed = {c.type: c for c in conditions.failed("InvalidCredentials", "bad key")}
    assert failed["Ready"].status is False and failed["Degraded"].status is True
    assert failed["Degraded"].reason == "InvalidCredentials"
    unreachable = {c.type: c for c in conditions.unreachable("503")}
    assert unreachable["Degraded"].reason == "AlchemiscaleUnreachable"
    assert unreachable["Progressing"].status is True
