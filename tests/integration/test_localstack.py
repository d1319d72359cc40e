"""`kpi stack`'s engine against real processes: clear errors, idempotence, exact shutdown."""

from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared import topics
from shared.errors import StackError
from shared.kafka import aiokafka_options
from shared.localstack import Component, LocalStack
from shared.localstack.probes import free_port

pytestmark = pytest.mark.integration


async def test_every_topic_exists_with_the_configured_partitions(local_stack: LocalStack) -> None:
    admin = AIOKafkaAdminClient(**aiokafka_options(local_stack.settings))
    await admin.start()
    try:
        assert set(topics.ALL) <= set(await admin.list_topics())
        described = await admin.describe_topics([topics.EVENTS])
    finally:
        await admin.close()
    assert len(described[0]["partitions"]) == local_stack.settings.topic_partitions


async def test_a_taken_port_gives_an_error_naming_it(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    kafka_port = local_stack.kafka_port
    other = LocalStack(local_stack.settings, state_dir=tmp_path)

    with pytest.raises(StackError) as raised:
        other.start_component(Component.KAFKA)

    assert str(raised.value) == (
        f"port {kafka_port} on 127.0.0.1 is already in use, so the local kafka cannot listen "
        "there; stop whatever holds it or point KAFKA_BOOTSTRAP_SERVERS elsewhere"
    )


async def test_up_again_reuses_the_running_processes(local_stack: LocalStack) -> None:
    before = local_stack.status()

    await local_stack.up()

    assert local_stack.status() == before
    assert all(before.values())


async def test_down_stops_exactly_the_processes_of_its_state_dir(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    settings = local_stack.settings.model_copy(
        update={
            "kafka_bootstrap_servers": f"127.0.0.1:{free_port()}",
            "mongodb_uri": local_stack.settings.mongodb_uri.__class__(
                f"mongodb://127.0.0.1:{free_port()}/?retryWrites=false"
            ),
        }
    )
    second = LocalStack(settings, state_dir=tmp_path)
    await second.up()
    assert all(second.status().values())

    stopped = second.down()

    assert sorted(stopped) == ["SecantusDB", "Tansu broker"]
    assert not any(second.status().values())
    assert all(local_stack.status().values()), "the session's stack must keep running"
    assert second.down() == []
