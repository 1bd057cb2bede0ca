/** Config schema of the lists stage: `routes[].stages.lists`. */
import { Type, type Static } from '@sinclair/typebox';

export const ListsSchema = Type.Object(
  {
    allow: Type.Optional(Type.Array(Type.String(), { description: 'Addresses or CIDRs that pass (checked first).' })),
    deny: Type.Optional(Type.Array(Type.String(), { description: 'Addresses or CIDRs refused with 403.' })),
    allow_files: Type.Optional(
      Type.Array(Type.String(), {
        description: 'List files (one address or CIDR a line, # comments), re-read on change.',
      }),
    ),
    deny_files: Type.Optional(Type.Array(Type.String(), { description: 'List files for the deny list.' })),
  },
  { additionalProperties: false, description: 'IP allow and deny lists, from config and files.' },
);

export type ListsConfig = Static<typeof ListsSchema>;
