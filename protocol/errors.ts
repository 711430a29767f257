/**
 * The catalogue of error codes every daqops component throws, and the only error family that crosses a
 * module boundary. Each code carries its HTTP status (what the platform API answers) and whether the same
 * call may succeed when simply tried again. Callers switch on `code`, retry logic reads `retriable`, the
 * API reads `httpStatus`, and docs/errors.md documents every code with both (a test checks it).
 */
export interface ErrorSpec {
  /** The HTTP status the platform API answers with this code. */
  readonly http: number;
  readonly retriable: boolean;
}

export const errorCatalogue = {
  INVALID_WORD: { http: 400, retriable: false },
  INVALID_CHANNEL_MAP: { http: 400, retriable: false },
  INVALID_HEADER: { http: 400, retriable: false },
  INVALID_RECORD: { http: 400, retriable: false },
  INVALID_ERS_ISSUE: { http: 400, retriable: false },
  INVALID_NAMESPACE: { http: 400, retriable: false },
  INVALID_CONFIG: { http: 422, retriable: false },
  INVALID_TEMPLATE: { http: 422, retriable: false },
  INVALID_RUNBOOK: { http: 400, retriable: false },
  INVALID_RULES: { http: 400, retriable: false },
  INVALID_FAULT: { http: 422, retriable: false },
  INVALID_STEP: { http: 422, retriable: false },
  BAD_REQUEST: { http: 400, retriable: false },
  UNAUTHORIZED: { http: 401, retriable: false },
  FORBIDDEN: { http: 403, retriable: false },
  NOT_FOUND: { http: 404, retriable: false },
  METHOD_NOT_ALLOWED: { http: 405, retriable: false },
  PLACEMENT_FAILED: { http: 409, retriable: false },
  ILLEGAL_TRANSITION: { http: 409, retriable: false },
  TOO_MANY_FAULTS: { http: 409, retriable: false },
  SUPERSEDED: { http: 409, retriable: false },
  PAYLOAD_TOO_LARGE: { http: 413, retriable: false },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, retriable: false },
  PREREQUISITE_MISSING: { http: 500, retriable: false },
  KAFKA_START_FAILED: { http: 500, retriable: false },
  PROCESS_START_FAILED: { http: 500, retriable: false },
  RECORD_TOO_LARGE: { http: 500, retriable: false },
  INTERNAL: { http: 500, retriable: false },
  TASK_FAILED: { http: 502, retriable: false },
  HOOK_FAILED: { http: 502, retriable: false },
  AGENT_ERROR: { http: 502, retriable: false },
  UNREACHABLE: { http: 503, retriable: true },
  TOO_MANY_CLIENTS: { http: 503, retriable: true },
  KAFKA_UNAVAILABLE: { http: 503, retriable: true },
  TIMEOUT: { http: 504, retriable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** Whether an operation that failed with this code may succeed when simply tried again. */
export const retriableCodes: ReadonlySet<ErrorCode> = new Set(
  errorCodes.filter((c) => errorCatalogue[c].retriable),
);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

export interface DaqErrorOptions {
  /** The input field (header, config path, word field) that is wrong, when there is one. */
  readonly field?: string;
  readonly cause?: unknown;
}

export class DaqError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retriable: boolean;
  /** The HTTP status of the code (errorCatalogue). */
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options: DaqErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaqError';
    this.code = code;
    this.field = options.field;
    this.retriable = errorCatalogue[code].retriable;
    this.httpStatus = errorCatalogue[code].http;
  }
}

export function isDaqError(value: unknown, code?: ErrorCode): value is DaqError {
  return value instanceof DaqError && (code === undefined || value.code === code);
}

/** Any thrown value as a DaqError: itself when it is one, else `code` with its message (cause kept). */
export function asDaqError(err: unknown, code: ErrorCode = 'INTERNAL'): DaqError {
  if (isDaqError(err)) return err;
  return new DaqError(code, err instanceof Error ? err.message : String(err), { cause: err });
}
