/** Config schema of the geo stage: allow or deny by country from a MaxMind DB file. */
import { Type, type Static } from '@sinclair/typebox';

const Iso = Type.String({
  pattern: '^[A-Z]{2}$',
  description: 'ISO 3166-1 alpha-2 country code, upper case: "DE", "US".',
  errorHint: 'a two-letter ISO country code in upper case, e.g. "DE"',
});

export const GeoSchema = Type.Object(
  {
    database: Type.String({
      description:
        'MaxMind DB file (GeoLite2/GeoIP2 Country or City, or the same format), relative to the config file. ' +
        'Loaded at start, re-read when it changes.',
    }),
    allow: Type.Optional(
      Type.Array(Iso, { minItems: 1, description: 'Only these countries pass; every other known one gets 403.' }),
    ),
    deny: Type.Optional(Type.Array(Iso, { minItems: 1, description: 'These countries get 403.' })),
    unknown: Type.Union([Type.Literal('allow'), Type.Literal('deny')], {
      description: 'Addresses the database has no country for (private ranges, new allocations).',
      errorHint: '"allow" or "deny"',
    }),
  },
  { additionalProperties: false, description: 'Allow or deny by the client country.' },
);

export type GeoConfig = Static<typeof GeoSchema>;
