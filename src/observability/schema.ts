/** Config schema of logging: the top-level `log` section (process log level, access log). */
import { Type, type Static } from '@sinclair/typebox';

export const LogSchema = Type.Object(
  {
    level: Type.Optional(
      Type.Union(
        ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
        { default: 'info' },
      ),
    ),
    access: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean({ default: true })),
          destination: Type.Optional(Type.String({ default: 'stdout', description: '"stdout" or a file path.' })),
          fields: Type.Optional(
            Type.Array(
              Type.Union(
                [
                  'time',
                  'id',
                  'route',
                  'client',
                  'method',
                  'host',
                  'path',
                  'status',
                  'duration_ms',
                  'bytes_in',
                  'bytes_out',
                  'origin',
                  'attempts',
                  'reason',
                  'user_agent',
                  'protocol',
                ].map((f) => Type.Literal(f)),
              ),
              { description: 'Fields written per request; all when absent.' },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type LogConfig = Static<typeof LogSchema>;
