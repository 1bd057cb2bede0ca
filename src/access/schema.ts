/** Config schema of the access stage. */
import { Type, type Static } from '@sinclair/typebox';

export const AccessRuleSchema = Type.Object(
  {
    action: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    cidrs: Type.Optional(
      Type.Array(Type.String(), { description: 'Client networks ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7").' }),
    ),
    methods: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]+$' }))),
    paths: Type.Optional(Type.Array(Type.String({ pattern: '^/' }), { description: 'Path prefixes.' })),
  },
  { additionalProperties: false },
);

export const AccessSchema = Type.Object(
  {
    rules: Type.Array(AccessRuleSchema, { description: 'First rule whose every condition matches decides.' }),
    default: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')], { default: 'allow' })),
  },
  { additionalProperties: false, description: 'Allow or deny by client CIDR, method and path.' },
);

export type AccessConfig = Static<typeof AccessSchema>;
export type AccessRule = Static<typeof AccessRuleSchema>;
