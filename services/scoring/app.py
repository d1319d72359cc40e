"""Composition root of the scoring service: the one place its pieces are built and wired."""

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from shared.mongo import Document
from shared.service import ServiceApp, build_service
from shared.settings import Settings

NAME = "scoring"


def create_app(
    settings: Settings,
    *,
    broker: KafkaBroker | None = None,
    mongo_client: AsyncMongoClient[Document] | None = None,
    registry: CollectorRegistry | None = None,
) -> ServiceApp:
    """Build the scoring service from settings; tests may hand in their own clients."""
    return build_service(
        NAME, settings, broker=broker, mongo_client=mongo_client, registry=registry
    )
