"""Replay: a completed run's log compiled into a plan that runs again without a model.

`targets` holds what the log records about each action (the element's selector bundle and the
effect seen); `plan` the versioned plan; `compile` the pure function from a log to a plan;
`matching` how a plan's target is found again among a page's elements; `export` the readable
Playwright script a user may run on their own machine (the server never executes it).

Nothing is imported here: `events` imports `targets`, and `compile` imports `events`.
"""
