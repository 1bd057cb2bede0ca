/** Config schema of the admin API: the top-level `admin` section. */
import { Type, type Static } from '@sinclair/typebox';

export const AdminSchema = Type.Object(
  {
    address: Type.String({
      pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):(\\d{1,5})$',
      default: '127.0.0.1:9901',
      description: 'Admin API address; loopback by default and never a data-plane port.',
      errorHint: 'host:port, e.g. "127.0.0.1:9901"',
    }),
    token: Type.Optional(
      Type.String({
        minLength: 16,
        description: 'Bearer token for mutating endpoints; use ${BULWARK_ADMIN_TOKEN}. Without it they are refused.',
      }),
    ),
  },
  { additionalProperties: false },
);

export type AdminConfig = Static<typeof AdminSchema>;
