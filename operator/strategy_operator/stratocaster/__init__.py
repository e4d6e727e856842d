"""The stratocaster adapter: run any stratocaster Strategy named by import path.

`loading` decides which classes may be loaded (the operator's allow-list), imports one and
builds its own settings; `adapter` hands its proposal's raw weights to the engine's plan.
The network and results it is given come from `strategy_operator.alchemiscale.gufe_objects`.
Needs the `stratocaster` extra (gufe, stratocaster), imported only when a resource uses it.
"""
