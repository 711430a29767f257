/**
 * Schema-driven fuzzing of the platform API from its own /openapi.json (what schemathesis does, as a
 * fast-check property in `npm test`): for every operation, requests built from its parameter and body
 * schemas, from arbitrary JSON and from hostile strings, with no token, a bogus one, or each role's. Every
 * answer must be declared by the document for that operation, carry a body its schema accepts, never be a
 * 5xx, be 401 without a valid token and 403 for too small a role.
 */
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { as, setup } from '../../helpers/api.js';

type Schema = Record<string, unknown>;
interface Operation {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly role: string;
  readonly params: { name: string; in: 'path' | 'query'; schema: Schema }[];
  readonly body: { required: boolean; schema: Schema } | undefined;
  readonly responses: Record<string, { content?: { 'application/json': { schema: Schema } } }>;
}

const roles = ['viewer', 'shifter', 'expert', 'admin'] as const;

/** Strings that broke APIs before: coercible numbers, traversal, encodings, control characters. */
const hostile = fc.constantFrom(
  'Infinity',
  '0x10',
  '4.0',
  '1e3',
  '-1',
  '0',
  ' 1',
  'null',
  'true',
  '../../etc/passwd',
  '%2e%2e%2f',
  '\u0000',
  'a'.repeat(300),
  '{}',
  '[]',
);

/** Values a schema accepts (mostly), bounded small; falls back to any JSON where the schema is open. */
function fromSchema(s: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (s === undefined || depth > 4) return fc.jsonValue({ maxDepth: 2 });
  if (Array.isArray(s['enum'])) return fc.constantFrom(...(s['enum'] as unknown[]));
  for (const k of ['anyOf', 'oneOf'] as const)
    if (Array.isArray(s[k]) && s['type'] === undefined && s['properties'] === undefined)
      return fc.oneof(...(s[k] as Schema[]).map((x) => fromSchema(x, depth + 1)));
  const type = Array.isArray(s['type']) ? (s['type'] as string[])[0] : s['type'];
  switch (type) {
    case 'string':
      if (typeof s['pattern'] === 'string')
        return fc.stringMatching(new RegExp(s['pattern'])).map((x) => x.slice(0, 200));
      return fc.string({
        minLength: Number(s['minLength'] ?? 0),
        maxLength: Math.min(Number(s['maxLength'] ?? 40), 40),
      });
    case 'integer':
      return fc.integer({
        min: Number(s['minimum'] ?? -10),
        max: Math.min(Number(s['maximum'] ?? 1000), 1000),
      });
    case 'number':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(s['items'] as Schema | undefined, depth + 1), { maxLength: 3 });
    case 'object': {
      const props = (s['properties'] ?? {}) as Record<string, Schema>;
      const required = new Set((s['required'] ?? []) as string[]);
      const oneOf = (s['oneOf'] ?? []) as { required?: string[] }[];
      const keys = Object.keys(props);
      return fc
        .record(Object.fromEntries(keys.map((k) => [k, fromSchema(props[k], depth + 1)])), {
          requiredKeys: keys.filter((k) => required.has(k)),
        })
        .chain((o) =>
          oneOf.length === 0
            ? fc.constant(o)
            : fc.constantFrom(...oneOf).map((alt) => {
                // Keep exactly one alternative's keys, as the schema asks.
                const keep = new Set(alt.required ?? []);
                const other = oneOf.flatMap((x) => x.required ?? []).filter((k) => !keep.has(k));
                const out: Record<string, unknown> = { ...o };
                for (const k of other) delete out[k];
                return out;
              }),
        );
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

describe('platform/api fuzz (schema-driven, from /openapi.json)', function () {
  this.timeout(120_000);

  it('answers every generated request with a declared status and body, never 5xx, auth first', async () => {
    const { app, platform } = setup();
    const env = platform.createEnvironment({ name: 'testbed' }, {}, 'expert:bob');
    platform.incidents.signal({
      fingerprint: 'fuzz-1',
      source: 'control',
      name: 'TransitionFailed',
      severity: 'error',
      environment: env.id,
      component: { kind: 'environment', id: env.id },
      summary: 'seeded for the fuzzer',
      at: new Date().toISOString(),
      status: 'firing',
      point: true,
    });
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
    }>();
    const ajv = new Ajv2020({ strict: false, allErrors: false });
    const ops: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        // The live feed is an endless event stream; its auth and refusals are tested in live.test.ts.
        .filter(([, op]) => !JSON.stringify(op['responses']).includes('text/event-stream'))
        .map(([method, op]) => {
          const rb = op['requestBody'] as
            { required: boolean; content: { 'application/json': { schema: Schema } } } | undefined;
          return {
            method: method.toUpperCase() as 'GET' | 'POST',
            path,
            role: /\(role: (\w+)\)/.exec(String(op['summary']))?.[1] ?? 'admin',
            params: (op['parameters'] ?? []) as Operation['params'],
            body:
              rb === undefined
                ? undefined
                : { required: rb.required, schema: rb.content['application/json'].schema },
            responses: op['responses'] as Operation['responses'],
          };
        }),
    );
    assert.ok(ops.length >= 20, `only ${ops.length} operations documented`);
    const known: Record<string, string[]> = {
      id: [env.id, '1', '2'],
      run: ['1'],
      name: ['TransitionTimeout', 'WorkloadCrash'],
    };
    let requests = 0;
    const statuses = new Map<number, number>();
    for (const op of ops) {
      const token = fc.constantFrom<string | undefined>(undefined, 'bogus-token-0123456789', ...roles);
      // The fuzzer must not revoke the tokens it fuzzes with (that would turn later 403s into 401s).
      const holders = ['eve', 'alice', 'bob', 'root'];
      const param = (p: Operation['params'][number]): fc.Arbitrary<string> =>
        fc
          .oneof(
            fc.constantFrom(...(known[p.name] ?? ['x'])),
            fromSchema(p.schema).map(String),
            hostile,
            fc.string({ maxLength: 20 }),
          )
          .filter((v) => !(op.path.startsWith('/api/v1/tokens') && holders.includes(v)));
      const pathParams = op.params.filter((p) => p.in === 'path');
      const queryParams = op.params.filter((p) => p.in === 'query');
      const body: fc.Arbitrary<{ payload: unknown; type: string } | undefined> =
        op.body === undefined
          ? fc.constant(undefined)
          : fc.oneof(
              {
                weight: 6,
                arbitrary: fromSchema(op.body.schema).map((payload) => ({
                  payload,
                  type: 'application/json',
                })),
              },
              {
                weight: 2,
                arbitrary: fc
                  .jsonValue({ maxDepth: 3 })
                  .map((payload) => ({ payload, type: 'application/json' })),
              },
              { weight: 1, arbitrary: fc.string().map((payload) => ({ payload, type: 'text/plain' })) },
              { weight: 1, arbitrary: fc.constant(undefined) },
            );
      await fc.assert(
        fc.asyncProperty(
          token,
          fc.tuple(...pathParams.map(param)),
          fc.option(fc.tuple(...queryParams.map((p) => fc.oneof(fromSchema(p.schema).map(String), hostile)))),
          body,
          async (who, values, query, b) => {
            let url = op.path;
            pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, encodeURIComponent(values[i]!))));
            if (query !== null && queryParams.length > 0)
              url += `?${queryParams.map((p, i) => `${p.name}=${encodeURIComponent(query[i]!)}`).join('&')}`;
            const headers: Record<string, string> =
              who === undefined
                ? {}
                : roles.includes(who as never)
                  ? as(who)
                  : { authorization: `Bearer ${who}` };
            if (b !== undefined) headers['content-type'] = b.type;
            const r = await app.inject({
              method: op.method,
              url,
              headers,
              ...(b === undefined
                ? {}
                : { payload: typeof b.payload === 'string' ? b.payload : JSON.stringify(b.payload) }),
            });
            requests++;
            statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
            const what = `${op.method} ${url} as ${who ?? 'nobody'} → ${r.statusCode} ${r.body.slice(0, 300)}`;
            assert.ok(r.statusCode < 500, `5xx: ${what}`);
            const declared = op.responses[String(r.statusCode)];
            assert.ok(declared !== undefined, `status not in the document: ${what}`);
            const schema = declared.content?.['application/json'].schema;
            if (schema !== undefined) {
              const ok = ajv.validate(schema, r.json());
              assert.ok(ok, `body does not match the document: ${what}: ${ajv.errorsText()}`);
            }
            if (who === undefined || !roles.includes(who as never)) assert.equal(r.statusCode, 401, what);
            else if (roles.indexOf(who as never) < roles.indexOf(op.role as never))
              assert.equal(r.statusCode, 403, what);
          },
        ),
        { numRuns: 150, seed: 20261201 },
      );
    }
    assert.ok(requests >= 20 * 150);
    // The generators reach past authentication into the handlers, not only the 401/403 gate.
    for (const s of [200, 400, 401, 403, 404]) assert.ok((statuses.get(s) ?? 0) > 0, `never saw ${s}`);
  });
});
