"""Wire the stream service from settings: queue, writer, Ray pool, lifecycle hook, publisher."""

from __future__ import annotations

from pipeline.awsclients import aws_client
from pipeline.fleet.raycluster import cluster_cpus, connect
from pipeline.logjson import add_secret
from pipeline.settings import Settings
from pipeline.sinks.opensearch import BulkWriter, OpenSearchReadings, ensure_index, make_client
from pipeline.sources.sqs import SqsQueue
from pipeline.stream.service import StreamService
from pipeline.stream.workers import WorkerPool


def build_stream(
    settings: Settings,
    address: str | None = None,
    exit_when_idle_s: float | None = None,
    num_cpus: int | None = None,
    keep_records: bool = False,
) -> StreamService:
    """A ready-to-run :class:`StreamService` (Ray connected, workers warm, index present);
    ``keep_records``: every document's record, not only the recent ones (``--records``, benchmarks)."""
    for secret in settings.opensearch_secret_values():
        add_secret(secret)
    queue = SqsQueue(aws_client("sqs"), settings.queue_url, settings.dlq_url)
    queue.max_receive_count  # noqa: B018  (fails early without a redrive policy)
    client = make_client(settings)
    ensure_index(client, settings.index)
    connect(address, num_cpus=num_cpus)
    pool = WorkerPool(
        settings,
        per_worker=settings.tasks_per_worker,
        task_deadline_s=3 * settings.page_timeout_s + 60,
    )
    pool.resize(settings.ocr_workers or cluster_cpus())
    return StreamService(
        settings,
        queue,
        BulkWriter.from_settings(settings, client),
        pool,
        exit_when_idle_s=exit_when_idle_s,
        lifecycle=_lifecycle(settings),
        publisher=_publisher(settings),
        keep_records=keep_records,
        # the coordinator's look-ahead for earlier readings (stream.lookahead), when they are reused
        readings=OpenSearchReadings.from_settings(settings, client) if settings.reuse_duplicates else None,
    )


def _lifecycle(settings: Settings):
    if not (settings.asg_name and settings.lifecycle_hook):
        return None
    from pipeline.fleet.lifecycle import TerminationHook

    return TerminationHook.for_this_instance(settings)


def _publisher(settings: Settings):
    if not settings.cloudwatch_namespace:
        return None
    from pipeline.fleet.scaling import BacklogPublisher

    return BacklogPublisher.from_settings(settings)
