"""The Kubernetes side: Kopf handlers, one reconcile pass per resource, and what they call.

`register.py` binds Kopf's decorators; `reconcile.py` runs one pass over one NetworkStrategy
(spec -> server -> snapshot -> plan -> apply) and `outcomes.py` says how it ended as a typed
status change; `main.py` is `strategy-operator run`.
This is the only room (with `python_api`) that imports Kopf or the Kubernetes client.
"""
