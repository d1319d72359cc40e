"""Pure scoring domain: what a batch contributes to the counters and how it is applied.

The concepts every service shares (fiscal calendar, KPI catalogue, definitions and values,
targets) live in `shared/kpi/`. Nothing here imports FastStream, aiokafka or pymongo.
"""
