import argparse

import pytest

from strategy_operator.controller.config import OperatorConfig, SettingsError, add_arguments, from_arguments
from strategy_operator.scopedkey import Scope


def parse(argv, env=None):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_arguments(parser.parse_args(argv), env or {})


def test_defaults_match_the_agreed_interface():
    settings = parse([])
    assert settings == OperatorConfig()
    assert settings.min_sleep_interval == 300
    assert settings.max_workers == 4
    assert settings.all_namespaces and settings.namespaces == ()
    assert settings.allowed_scopes == (Scope(),)
    assert settings.log_level == "info"
    assert settings.http_port == 8080
    assert settings.default_server is None


def test_environment_fills_what_flags_leave_out_and_flags_win():
    env = {
        "STRATEGY_OPERATOR_MIN_SLEEP_INTERVAL": "60",
        "STRATEGY_OPERATOR_MAX_WORKERS": "2",
        "STRATEGY_OPERATOR_NAMESPACES": "a, b,a",
        "STRATEGY_OPERATOR_ALLOWED_SCOPES": "acme-*-*,other-x-y",
        "STRATEGY_OPERATOR_DEFAULT_SERVER": "https://alchemiscale.example.org/",
        "STRATEGY_OPERATOR_DEFAULT_CREDENTIALS_SECRET": "creds",
        "STRATEGY_OPERATOR_NAMESPACE": "ops",
        "STRATEGY_OPERATOR_LOG_LEVEL": "DEBUG",
        "STRATEGY_OPERATOR_HTTP_PORT": "9000",
    }
    settings = parse(["--max-workers", "7"], env)
    assert settings.min_sleep_interval == 60
    assert settings.max_workers == 7
    assert settings.namespaces == ("a", "b")
    assert settings.allowed_scopes == (Scope("acme"), Scope("other", "x", "y"))
    assert settings.default_server == "https://alchemiscale.example.org"
    assert settings.default_credentials_secret == "creds"
    assert settings.operator_namespace == "ops"
    assert settings.log_level == "debug"
    assert settings.http_port == 9000


def test_repeatable_namespace_flag():
    assert parse(["--namespace", "x", "--namespace", "y"]).namespaces == ("x", "y")
    assert parse(["--all-namespaces"], {"STRATEGY_OPERATOR_NAMESPACES": "x"}).all_namespaces


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--min-sleep-interval", "0"], "--min-sleep-interval"),
        (["--max-workers", "two"], "--max-workers"),
        (["--max-workers", "0"], "--max-workers"),
        (["--allowed-scopes", "acme-*-proj"], "--allowed-scopes"),
        (["--default-server", "ftp://x"], "--default-server"),
        (["--default-server", "https://user:pw@x.org"], "credentials"),
        (["--log-level", "loud"], "--log-level"),
        (["--http-port", "70000"], "--http-port"),
        (["--ca-bundle", "/nonexistent.pem"], "--ca-bundle"),
        (["--namespace", "a", "--all-namespaces"], "exclude"),
    ],
)
def test_invalid_values_name_the_flag(argv, fragment):
    with pytest.raises(SettingsError, match=fragment.replace("-", r"\-")):
        parse(argv)


def test_invalid_environment_value_names_the_variable():
    with pytest.raises(SettingsError, match="STRATEGY_OPERATOR_MAX_WORKERS"):
        parse([], {"STRATEGY_OPERATOR_MAX_WORKERS": "-1"})


def test_default_secret_needs_a_namespace_outside_a_pod():
    with pytest.raises(SettingsError, match="operator-namespace"):
        parse(["--default-credentials-secret", "creds"])


def test_scope_allowed():
    settings = parse(["--allowed-scopes", "acme-tyk2-*,beta-x-y"])
    assert settings.scope_allowed(Scope("acme", "tyk2", "run1"))
    assert settings.scope_allowed(Scope("beta", "x", "y"))
    assert not settings.scope_allowed(Scope("acme", "other", "run1"))
    assert not settings.scope_allowed(Scope("beta", "x", "z"))
    assert parse([]).scope_allowed(Scope("any", "thing", "here"))


def test_leader_election_is_a_switch_or_a_boolean_variable_and_needs_the_namespace() -> None:
    import argparse

    from strategy_operator.controller.config import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    on = from_arguments(parser.parse_args(["--leader-election", "--operator-namespace", "ops"]), {})
    assert on.leader_election and on.operator_namespace == "ops"
    assert on.leader_election_lease == "alchemiscale-strategy-operator" and on.leader_election_lease_duration == 15
    assert from_arguments(parser.parse_args(["--peering", "--operator-namespace", "ops"]), {}).leader_election
    assert not from_arguments(
        parser.parse_args(["--standalone"]), {"STRATEGY_OPERATOR_LEADER_ELECTION": "true"}
    ).leader_election
    env = {
        "STRATEGY_OPERATOR_LEADER_ELECTION": "yes",
        "STRATEGY_OPERATOR_NAMESPACE": "ops",
        "STRATEGY_OPERATOR_LEADER_ELECTION_LEASE_DURATION": "4",
    }
    assert from_arguments(None, env).leader_election_lease_duration == 4
    with pytest.raises(SettingsError, match="STRATEGY_OPERATOR_LEADER_ELECTION: 'maybe' is not true or false"):
        from_arguments(None, {**env, "STRATEGY_OPERATOR_LEADER_ELECTION": "maybe"})


def test_stratocaster_allowed_strategies_setting():
    from strategy_operator.controller.config import SettingsError, from_arguments

    assert from_arguments(None, {}).allowed_strategies == ("stratocaster.strategies.*",)
    env = {"STRATEGY_OPERATOR_ALLOWED_STRATEGIES": "stratocaster.strategies.*, mylab.strategies:Mine"}
    assert from_arguments(None, env).allowed_strategies == ("stratocaster.strategies.*", "mylab.strategies:Mine")
    assert from_arguments(None, {"STRATEGY_OPERATOR_ALLOWED_STRATEGIES": ""}).allowed_strategies == ()
    with pytest.raises(SettingsError, match="STRATEGY_OPERATOR_ALLOWED_STRATEGIES.*not a/b"):
        from_arguments(None, {"STRATEGY_OPERATOR_ALLOWED_STRATEGIES": "not a/b"})
    with pytest.raises(SettingsError, match="STRATEGY_OPERATOR_RESULT_CACHE_ENTRIES"):
        from_arguments(None, {"STRATEGY_OPERATOR_RESULT_CACHE_ENTRIES": "0"})
