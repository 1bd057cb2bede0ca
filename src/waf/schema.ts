/** The WAF's configuration: the engine (`waf:` at the top of bulwark.yaml) and the per-route stage (`stages.waf`). */
import { Type, type Static } from '@sinclair/typebox';
import { Size } from '../lib/units.js';

const Mode = (defaults: { default?: string } = {}) =>
  Type.Union([Type.Literal('on'), Type.Literal('detection_only'), Type.Literal('off')], {
    errorHint: 'on, detection_only or off',
    description: 'on blocks; detection_only matches and logs but never blocks; off skips the WAF.',
    ...defaults,
  });

const ParanoiaLevel = (defaults: { default?: number } = {}) =>
  Type.Integer({
    minimum: 1,
    maximum: 4,
    errorHint: 'a paranoia level from 1 to 4',
    description: 'CRS paranoia level: 1 has the fewest false positives, 4 the most rules.',
    ...defaults,
  });

const Threshold = (defaults: { default?: number } = {}) =>
  Type.Integer({ minimum: 1, errorHint: 'a positive anomaly score', ...defaults });

export const ExclusionSchema = Type.Object(
  {
    rules: Type.Optional(
      Type.Array(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\d+-\\d+$' })]), {
        description: 'Rule ids or id ranges ("942000-942999").',
        errorHint: 'rule ids or ranges like "942000-942999"',
      }),
    ),
    tags: Type.Optional(Type.Array(Type.String(), { description: 'Rule tags, e.g. attack-sqli.' })),
    targets: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z_]+(:.+)?$' }), {
        description: 'Variables taken out of those rules, e.g. ARGS:password or REQUEST_COOKIES:/^sess/.',
        errorHint: 'variables like ARGS:password',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Without targets, the rules are removed on this route; with targets, only those values are.',
  },
);

export const WafRouteSchema = Type.Object(
  {
    engine: Type.Optional(Mode()),
    paranoia_level: Type.Optional(ParanoiaLevel()),
    inbound_threshold: Type.Optional(Threshold()),
    outbound_threshold: Type.Optional(Threshold()),
    exclusions: Type.Optional(Type.Array(ExclusionSchema)),
  },
  { additionalProperties: false, description: 'The WAF on this route; unset fields take the engine-wide values.' },
);

export const WafSchema = Type.Object(
  {
    engine: Type.Optional(Mode({ default: 'on' })),
    crs: Type.Optional(
      Type.Object(
        {
          dir: Type.Optional(
            Type.String({
              description:
                'Folder of a CRS release (rules/ and crs-setup.conf.example). Searched for when absent: ' +
                '$BULWARK_CRS_DIR, ../shared/crs/v4.28.0, then the cache `bulwark crs install` fills.',
            }),
          ),
          enabled: Type.Optional(Type.Boolean({ default: true, description: 'false runs only your own rules.' })),
          setup: Type.Optional(Type.String({ description: 'Your crs-setup.conf; the release example otherwise.' })),
          paranoia_level: Type.Optional(ParanoiaLevel({ default: 1 })),
          detection_paranoia_level: Type.Optional(ParanoiaLevel()),
          inbound_threshold: Type.Optional(Threshold({ default: 5 })),
          outbound_threshold: Type.Optional(Threshold({ default: 4 })),
          early_blocking: Type.Optional(Type.Boolean({ description: 'Block at the end of phase 1 and 3 already.' })),
          variables: Type.Optional(
            Type.Record(Type.String({ pattern: '^[A-Za-z0-9_]+$' }), Type.Union([Type.String(), Type.Number()]), {
              description: 'Other CRS setup variables (tx.*), e.g. allowed_methods, arg_length.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    request_body: Type.Optional(
      Type.Object(
        {
          access: Type.Optional(Type.Boolean({ default: true })),
          limit: Type.Optional(Size('Largest body inspected, uploads included.', '13MiB')),
          no_files_limit: Type.Optional(Size('Largest body inspected, not counting uploaded files.', '1MiB')),
          on_limit: Type.Optional(
            Type.Union([Type.Literal('reject'), Type.Literal('inspect_partial')], {
              default: 'reject',
              errorHint: 'reject or inspect_partial',
              description: 'reject answers 413; inspect_partial inspects up to the limit. Never passed uninspected.',
            }),
          ),
          arguments_limit: Type.Optional(Type.Integer({ minimum: 1, default: 1000 })),
          json_depth_limit: Type.Optional(Type.Integer({ minimum: 1, default: 512 })),
        },
        { additionalProperties: false },
      ),
    ),
    response_body: Type.Optional(
      Type.Object(
        {
          access: Type.Optional(Type.Boolean({ default: true })),
          mime_types: Type.Optional(Type.Array(Type.String(), { default: ['text/plain', 'text/html', 'text/xml'] })),
          limit: Type.Optional(Size('Largest response body inspected; the rest streams uninspected.', '512KiB')),
        },
        { additionalProperties: false },
      ),
    ),
    rules_before_crs: Type.Optional(
      Type.Array(Type.String(), { description: 'SecLang files loaded before CRS (globs allowed).' }),
    ),
    rules_files: Type.Optional(Type.Array(Type.String(), { description: 'SecLang files loaded after CRS.' })),
    events: Type.Optional(
      Type.Object(
        { keep: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000000, default: 1000 })) },
        { additionalProperties: false, description: 'How many recent events GET /v1/events can show.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type WafConfig = Static<typeof WafSchema>;
export type WafRouteConfig = Static<typeof WafRouteSchema>;
