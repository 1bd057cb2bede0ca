/** Config schema of overload shedding: the top-level `overload` section and a route's `priority`. */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Duration, Size } from '../../lib/units.js';

/** A pair of thresholds: normal traffic is shed from `normal` on, protected traffic only from `protected` on. */
function Thresholds<T extends TSchema>(value: () => T, what: string) {
  return Type.Object(
    {
      normal: value(),
      protected: Type.Optional(value()),
    },
    {
      additionalProperties: false,
      description:
        `${what}: normal traffic is shed at or above \`normal\`, protected traffic at or above \`protected\` ` +
        '(never on this signal when `protected` is absent).',
    },
  );
}

const Count = () =>
  Type.Integer({ minimum: 1, errorHint: 'a positive number of requests', description: 'Requests in flight.' });

export const OverloadSchema = Type.Object(
  {
    inflight: Type.Optional(Thresholds(Count, 'Admitted requests in flight in this worker')),
    event_loop_delay: Type.Optional(
      Thresholds(() => Duration('Event-loop delay (p99 over one sample).'), 'Event-loop delay'),
    ),
    heap_used: Type.Optional(Thresholds(() => Size('V8 heap in use.'), 'V8 heap in use in this worker')),
    rss: Type.Optional(Thresholds(() => Size('Resident set size.'), 'Resident memory of this worker')),
    sample_interval: Type.Optional(Duration('How often event-loop delay and memory are sampled.', '250ms')),
    clear_below: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        default: 0.8,
        description: 'Hysteresis: a level clears once every signal is below this share of its threshold...',
      }),
    ),
    clear_after: Type.Optional(Duration('...for this long (one level at a time).', '5s')),
    retry_after: Type.Optional(Duration('Retry-After sent with 503 (rounded up to seconds).', '5s')),
    protected_clients: Type.Optional(
      Type.Object(
        {
          cidrs: Type.Optional(
            Type.Array(Type.String(), { description: 'Client networks shed last, e.g. allow-listed partners.' }),
          ),
          headers: Type.Optional(
            Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), {
              description:
                'Requests carrying any of these headers are shed last (e.g. authorization). Presence only: a ' +
                'client can send one to get the higher threshold, which still bounds it.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Overload shedding: when this worker nears its limits, new requests get 503 with Retry-After before any ' +
      'other stage runs; protected routes and clients only at the higher thresholds.',
  },
);

export const RoutePriority = Type.Union([Type.Literal('normal'), Type.Literal('protected')], {
  default: 'normal',
  description: 'protected: shed only at the protected thresholds of the overload section.',
  errorHint: '"normal" or "protected"',
});

export type OverloadConfig = Static<typeof OverloadSchema>;
