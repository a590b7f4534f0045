"""The pure domain of Alliance: models, events, the fold, decision rules and views.

Imports neither Temporal nor any I/O, so it is unit-tested without a server and replays
deterministically inside the workflow sandbox (passed through, not re-imported per run).
"""
