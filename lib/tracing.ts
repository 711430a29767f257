/**
 * OpenTelemetry tracing for daqops processes: NodeSDK with the OTLP/HTTP trace exporter, configured by the
 * standard OTEL_* variables (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_SERVICE_NAME, …). With none set nothing is started and every span is a no-op: silent and cheap.
 * Context crosses process boundaries as a W3C `traceparent` string (control messages, IPC, Kafka headers).
 */
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { NodeSDK } from '@opentelemetry/sdk-node';

let sdk: NodeSDK | undefined;

export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    (env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? '') !== '' &&
    env['OTEL_SDK_DISABLED'] !== 'true'
  );
}

/**
 * Starts the SDK once per process when OTEL_* asks for it; returns whether traces are exported. The SDK
 * and exporter are loaded only then: a process that does not trace does not carry them in memory.
 */
export async function startTracing(
  serviceName: string,
  attributes: Record<string, string> = {},
): Promise<boolean> {
  // The propagator is needed even without export, so traceparent strings pass through unchanged.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (sdk !== undefined || !tracingConfigured()) return sdk !== undefined;
  const [{ NodeSDK }, { OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
    ]);
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      'service.name': process.env['OTEL_SERVICE_NAME'] ?? serviceName,
      ...attributes,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis: 500 })],
    instrumentations: [],
  });
  sdk.start();
  return true;
}

/** Flushes and stops the SDK (call before the process exits). */
export async function stopTracing(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  await s?.shutdown();
}

const tracer = () => trace.getTracer('daqops');

/** The context a `traceparent` string names (or the root context). */
export function contextFrom(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The `traceparent` of the active span (or of `ctx`), to hand to the next process; undefined if none. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier['traceparent'];
}

/**
 * Runs `fn` in a span, child of `parent` (a traceparent string or a Context, default the active context).
 * The span ends when `fn` settles and records an exception as an error status.
 */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  parent?: string | Context,
): Promise<T> {
  const parentCtx = typeof parent === 'string' ? contextFrom(parent) : (parent ?? context.active());
  return tracer().startActiveSpan(name, { attributes }, parentCtx, async (span) => {
    try {
      const r = await fn(span);
      span.setStatus({ code: SpanStatusCode.OK });
      return r;
    } catch (err) {
      span.recordException(err instanceof Error ? err : new Error(String(err)));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: err instanceof Error ? err.message : String(err),
      });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** trace_id/span_id of the active span, for ERS records; empty when not tracing. */
export function activeIds(): { trace_id?: string; span_id?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc === undefined || !trace.isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
