"""An alchemiscale-compatible sandbox server: in-memory state, real HTTP, simulated compute.

Entry points: `strategy_operator_dev.sandbox.testing.running_sandbox` (tests),
`strategy-operator sandbox` (command line). See docs/sandbox.md.
"""
