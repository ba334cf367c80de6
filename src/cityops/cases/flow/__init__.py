"""The case flow: the workflow table, its decision, effects, service, timers, scheduler, routing."""
