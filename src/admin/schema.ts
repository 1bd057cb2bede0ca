/** Config schema of the admin API: `admin:` at the top level of bulwark.yaml (src/admin/README.md). */
import { Type, type Static } from '@sinclair/typebox';

const Token = (description: string) =>
  Type.String({
    minLength: 16,
    description,
    errorHint: 'at least 16 characters; put it in an environment variable, e.g. "${BULWARK_ADMIN_TOKEN}"',
  });

export const AdminSchema = Type.Object(
  {
    address: Type.String({
      pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):(\\d{1,5})$',
      default: '127.0.0.1:9901',
      description: 'Admin API address; loopback by default and never a data-plane port.',
      errorHint: 'host:port, e.g. "127.0.0.1:9901"',
    }),
    token: Type.Optional(
      Token('The write token, as before tokens existed: the same as tokens.write. Use ${BULWARK_ADMIN_TOKEN}.'),
    ),
    tokens: Type.Optional(
      Type.Object(
        {
          read: Type.Optional(
            Token('Bearer token for reads under /v1/ (events, bans, under-attack). Use ${BULWARK_ADMIN_READ_TOKEN}.'),
          ),
          write: Type.Optional(
            Token(
              'Bearer token for everything: reads, and the endpoints that change state. Use ${BULWARK_ADMIN_TOKEN}.',
            ),
          ),
        },
        {
          additionalProperties: false,
          description:
            'Without a token, reads under /v1/ and changes are refused (401); /metrics, /healthz, /readyz stay open.',
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export type AdminConfig = Static<typeof AdminSchema>;
