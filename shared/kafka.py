"""Kafka client factories: one place where settings become broker and producer options."""

import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from .settings import Settings


def _security(settings: Settings) -> BaseSecurity | None:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context: ssl.SSLContext | None = None
    if protocol in {"SSL", "SASL_SSL"}:
        context = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    username = settings.kafka_sasl_username or ""
    password = (
        settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    )
    use_ssl = protocol == "SASL_SSL"
    mechanisms: dict[str | None, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
        "PLAIN": SASLPlaintext,
        None: SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    cls = mechanisms[settings.kafka_sasl_mechanism]
    return cls(username, password, ssl_context=context, use_ssl=use_ssl)


def aiokafka_options(settings: Settings) -> dict[str, Any]:
    """Options for plain aiokafka clients (admin, probes, tools) equal to the broker's."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value()
            if settings.kafka_sasl_password
            else None
        )
    return options


def create_broker(
    settings: Settings,
    *,
    client_id: str,
    middlewares: Sequence[Any] = (),
    description: str | None = None,
) -> KafkaBroker:
    """A FastStream Kafka broker: acks=all, idempotence only where the broker supports it."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=15_000,
        allow_auto_create_topics=False,
        graceful_timeout=settings.shutdown_timeout_s / 2,
        security=_security(settings),
        middlewares=middlewares,
        description=description,
    )


async def raw_body(message: StreamMessage[Any]) -> Any:
    """A subscriber decoder that hands the handler the record bytes as they are: the services
    parse them themselves (exact decimals, a dead letter for anything malformed), where
    FastStream's default JSON decoding would raise before the handler runs."""
    return message.body


RawBatch = tuple[ConsumerRecord[Any, Any], ...]


async def headerless_batch(
    batch: RawBatch, original: Callable[[RawBatch], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """A batch subscriber parser that never reads a record's headers.

    FastStream's own parser decodes every header value as UTF-8 before the handler runs, so one
    record with a header that is not (or a null header value) raised on every delivery and
    stalled every partition of the batch. The services take the event from the value alone, so
    the library is given the records without headers, and the handler the records as they came
    (`raw_message`). Headers also cannot steer the library: a `reply_to` header would otherwise
    make it publish the handler's result to a topic the sender chose.
    """
    message = await original(tuple(replace(r, headers=()) if r.headers else r for r in batch))
    message.raw_message = batch
    return message
