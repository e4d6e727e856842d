"""Development tooling for alchemiscale-strategy-operator: never shipped in the image.

`sandbox/` (an alchemiscale-compatible server), `controlplane/` (a local kube-apiserver +
etcd), `node/` (a real one-node cluster in a network namespace, for `make test-e2e`),
`localrun` (`make run`), `procs` (process helpers), `groupwatch` (a process group that dies
with its launcher) and `repo` (finding the checkout).
Installed into the venv by `make venv` as the `alchemiscale-strategy-operator-dev`
distribution; its command is `strategy-operator-dev`.
"""
