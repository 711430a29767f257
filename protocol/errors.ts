/**
 * The catalogue of error codes every daqops component throws. One class, one list: callers switch on
 * `code`, retry logic reads `retriable`, and docs/errors.md documents every code (a test checks it).
 */
export const errorCodes = [
  'INVALID_WORD',
  'INVALID_CHANNEL_MAP',
  'INVALID_HEADER',
  'INVALID_ERS_ISSUE',
  'INVALID_NAMESPACE',
  'INVALID_CONFIG',
  'INVALID_TEMPLATE',
  'INVALID_RUNBOOK',
  'INVALID_RULES',
  'INVALID_FAULT',
  'NOT_FOUND',
  'PLACEMENT_FAILED',
  'ILLEGAL_TRANSITION',
  'PREREQUISITE_MISSING',
  'KAFKA_START_FAILED',
  'KAFKA_UNAVAILABLE',
  'RECORD_TOO_LARGE',
  'TOO_MANY_FAULTS',
  'TIMEOUT',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Whether an operation that failed with this code may succeed when simply tried again. */
export const retriableCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['KAFKA_UNAVAILABLE', 'TIMEOUT']);

export interface DaqErrorOptions {
  /** The input field (header, config path, word field) that is wrong, when there is one. */
  readonly field?: string;
  readonly cause?: unknown;
}

export class DaqError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: DaqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaqError';
    this.code = code;
    this.field = options.field;
    this.retriable = retriableCodes.has(code);
  }
}

export function isDaqError(value: unknown, code?: ErrorCode): value is DaqError {
  return value instanceof DaqError && (code === undefined || value.code === code);
}
