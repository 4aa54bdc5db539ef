import { registerProcessMetrics } from '@hydra/metrics';
import { isScope, type Scope } from '@hydra/protocol';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * A private registry for the publisher process with the default process
 * metrics prefixed `hydra_publisher_`. A composition root that runs several
 * components in one process creates its registry once and hands it to each.
 */
export function createPublisherRegistry(): Registry {
  const registry = new Registry();
  registerProcessMetrics(registry, 'hydra_publisher_');
  return registry;
}

export type ScopeLabel = Scope | 'unknown';

/**
 * How a `POST /v1/events/stream` ended (label values of
 * hydra_ingest_streams_ended_total): the client ended its body (`complete`),
 * sent nothing for HYDRA_INGEST_STREAM_IDLE_TIMEOUT_MS (`idle_timeout`), the
 * publisher is shutting down (`server_closing`), a publish failed
 * (`backplane_unavailable`), or the client went away first (`client_gone`).
 */
export type StreamEnd = 'complete' | 'idle_timeout' | 'server_closing' | 'backplane_unavailable' | 'client_gone';

/**
 * Ingest metrics. Labels are bounded: a status code, a known scope or
 * `unknown`, accepted/rejected. Never a token or a payload value.
 */
export interface IngestMetrics {
  event(scope: ScopeLabel, result: 'accepted' | 'rejected' | 'duplicate'): void;
  request(status: number): void;
  publishFailure(): void;
  /** A POST /v1/events refused with 429: its source is in an auth-failure cool-down. */
  authThrottled(): void;
  /** Starts a publish timer; call the returned function when the publish settled. */
  startPublishTimer(): () => void;
  streamOpened(): void;
  /** A stream refused with 503: HYDRA_INGEST_MAX_STREAMS were open. */
  streamRefused(): void;
  streamEnded(end: StreamEnd): void;
  /** A stream stopped reading its request: its in-flight bound was reached, or its client did not read the acks. */
  streamBackpressure(): void;
  /** Lines read from streams and not yet acknowledged, across streams (`delta` added). */
  streamLinesInFlight(delta: number): void;
}

export function scopeLabel(value: unknown): ScopeLabel {
  return isScope(value) ? value : 'unknown';
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const events = new Counter({
    name: 'hydra_ingest_events_total',
    help: 'Ingested events by scope and result (accepted = stored and published; duplicate = a log item whose idempotency key was stored within HYDRA_INGEST_DEDUPE_WINDOW, acknowledged with its original seq and not stored again; rejected = failed validation or over HYDRA_INGEST_MAX_ITEM_BYTES).',
    labelNames: ['scope', 'result'] as const,
    registers: [registry],
  });
  const requests = new Counter({
    name: 'hydra_ingest_requests_total',
    help: 'HTTP requests answered by the publisher, by status code (a stream counts once, when it starts).',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'hydra_ingest_publish_failures_total',
    help: 'Batches (or stream groups) that could not be published because the backplane was unavailable (answered 503, or acknowledged 503 line by line).',
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'hydra_ingest_auth_throttled_total',
    help: 'POST /v1/events or /v1/events/stream answered 429 before any token check: the source (IPv4, IPv6 /64) sent HYDRA_AUTH_FAILURE_LIMIT wrong bearer tokens within HYDRA_AUTH_THROTTLE_MS.',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'hydra_ingest_publish_duration_seconds',
    help: 'Time to publish one batch (or one group of a stream) of valid events to the backplane.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const streamsOpen = new Gauge({
    name: 'hydra_ingest_streams_open',
    help: 'POST /v1/events/stream requests open (reading or finishing their acknowledgements).',
    registers: [registry],
  });
  const streamsEnded = new Counter({
    name: 'hydra_ingest_streams_ended_total',
    help: 'Ingest streams ended, by how: complete (the client ended its body), idle_timeout, server_closing (drained at shutdown), backplane_unavailable (a publish failed), client_gone.',
    labelNames: ['end'] as const,
    registers: [registry],
  });
  const streamsRefused = new Counter({
    name: 'hydra_ingest_streams_refused_total',
    help: 'POST /v1/events/stream answered 503 (Retry-After: 1) before reading its body: HYDRA_INGEST_MAX_STREAMS streams were open.',
    registers: [registry],
  });
  const backpressure = new Counter({
    name: 'hydra_ingest_stream_backpressure_total',
    help: 'Times an ingest stream stopped reading its request: HYDRA_INGEST_STREAM_MAX_IN_FLIGHT lines (or HYDRA_INGEST_MAX_BODY_BYTES) waiting for Redis, or its client not reading the acknowledgements.',
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'hydra_ingest_stream_lines_in_flight',
    help: 'Lines read from ingest streams and not yet acknowledged, across streams.',
    registers: [registry],
  });
  return {
    event: (scope, result) => events.inc({ scope, result }),
    request: (status) => requests.inc({ status: String(status) }),
    publishFailure: () => failures.inc(),
    authThrottled: () => throttled.inc(),
    startPublishTimer: () => duration.startTimer(),
    streamOpened: () => streamsOpen.inc(),
    streamRefused: () => streamsRefused.inc(),
    streamEnded: (end) => {
      streamsOpen.dec();
      streamsEnded.inc({ end });
    },
    streamBackpressure: () => backpressure.inc(),
    streamLinesInFlight: (delta) => inFlight.inc(delta),
  };
}
