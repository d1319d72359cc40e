"""Pure scoring domain: fiscal calendar, KPI catalogue, contributions and KPI values.

Nothing here imports FastStream, aiokafka or pymongo.
"""
