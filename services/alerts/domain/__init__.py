"""Pure alerts domain: rule configuration, evaluation and the alert lifecycle.

Nothing here imports FastStream, aiokafka or pymongo.
"""
