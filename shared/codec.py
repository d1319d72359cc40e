"""FastStream decoders for the event contract.

FastStream's default JSON decoding turns numbers into floats before pydantic sees them; money
must stay exact, so upstream subscribers decode with `decode_upstream` instead.
"""

from faststream.kafka import KafkaMessage

from .events import UpstreamEvent, decode_upstream


async def upstream_event_decoder(message: KafkaMessage) -> UpstreamEvent:
    """Decode a Kafka message into its validated upstream event (or raise ContractViolation)."""
    return decode_upstream(message.body)
