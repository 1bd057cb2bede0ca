/**
 * The whole bulwark.yaml: its schema, composed from each folder's (gateway, processes, admin, logging) and from the
 * stage registry's modules, its load-time checks, and the loader bound to both. One source of truth: ajv validates
 * against this schema, and a stage's config reaches it only through its registry entry.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { AdminSchema, type AdminConfig } from './admin/schema.js';
import {
  createConfigLoader,
  splitAddress,
  type ConfigCheck,
  type ConfigLoader,
  type DocumentResult,
  type LoadedDocument,
} from './config/index.js';
import { checkGateway } from './gateway/check.js';
import { GatewaySections, routeSchema, type GatewayConfig } from './gateway/schema.js';
import { LogSchema, type LogConfig } from './observability/schema.js';
import type { CheckContext, ConfigPath, RouteView } from './pipeline/index.js';
import { ProcessSections } from './process/schema.js';
import { PROVIDERS, registeredStages, registryVersion } from './stages.js';

type Sections = Record<string, TSchema>;

/** Every top-level section a module declares; two modules claiming one key is a registry mistake, caught here. */
function moduleSections(): Sections {
  const sections: Sections = {};
  for (const m of [...registeredStages(), ...PROVIDERS]) {
    for (const [key, schema] of Object.entries(m.nodeSchemas ?? {})) {
      if (key in sections) throw new Error(`stage registry: two modules declare the top-level section "${key}"`);
      sections[key] = Type.Optional(schema);
    }
  }
  return sections;
}

function routeSchemaOfRegistry(): TSchema {
  const fields: Sections = {};
  const stages: Sections = {};
  for (const m of registeredStages()) {
    for (const [key, schema] of Object.entries(m.routeFields ?? {})) fields[key] = Type.Optional(schema);
    if (m.routeSchema) stages[m.name] = Type.Optional(m.routeSchema);
  }
  return routeSchema(fields, stages);
}

const BaseSchema = Type.Object({
  ...ProcessSections,
  ...GatewaySections,
  admin: Type.Optional(AdminSchema),
  log: Type.Optional(LogSchema),
});

/** The schema of the whole file for the stages registered now. */
export function configSchema(): TSchema {
  return Type.Object(
    {
      ...BaseSchema.properties,
      routes: Type.Array(routeSchemaOfRegistry(), {
        minItems: 1,
        description: 'Tried in order; the first match serves.',
      }),
      ...moduleSections(),
    },
    { additionalProperties: false },
  );
}

/**
 * The configuration as the code reads it. Sections owned by stage modules are opaque here: each module reads its own
 * (typed by its schema.ts), and the process layer casts the few it wires (bans, cluster, under_attack).
 */
export type Config = Static<typeof BaseSchema> &
  GatewayConfig & { readonly admin?: AdminConfig; readonly log?: LogConfig } & Readonly<Record<string, unknown>>;

export type LoadedConfig = LoadedDocument<Config>;
export type LoadResult = DocumentResult<Config>;

function routeViews(config: Config, name: string): RouteView<unknown>[] {
  const routes: unknown = config.routes;
  return (Array.isArray(routes) ? routes : []).map((r: unknown, index) => {
    const route = (r && typeof r === 'object' ? r : {}) as Record<string, unknown>;
    const stages = route['stages'] && typeof route['stages'] === 'object' ? route['stages'] : {};
    return {
      name: typeof route['name'] === 'string' ? route['name'] : `#${index}`,
      index,
      config: (stages as Record<string, unknown>)[name],
      at: ['routes', index, 'stages', name],
      fields: route,
    };
  });
}

/** The gateway's own checks, then each module's, over one document. */
const checkAll: ConfigCheck<Config> = (config, baseDir, report) => {
  checkGateway(config, report, baseDir);
  const admin = config.admin?.address ?? '127.0.0.1:9901';
  const adminPort = splitAddress(admin).port;
  const listeners: unknown = config.listeners;
  (Array.isArray(listeners) ? listeners : []).forEach((l: { address?: unknown }, i) => {
    if (adminPort !== 0 && typeof l?.address === 'string' && splitAddress(l.address).port === adminPort)
      report(['admin', 'address'], `the admin API must not share port ${adminPort} with listeners[${i}]`);
  });
  for (const m of [...registeredStages(), ...PROVIDERS]) {
    if (!m.check) continue;
    const ctx: CheckContext<unknown> = {
      sections: config,
      baseDir,
      routes: routeViews(config, m.name),
      report: (path: ConfigPath, message: string) => report(path, message),
    };
    m.check(ctx);
  }
};

// Composed and compiled on first use, and again only when the registry has changed since.
let current: { version: number; loader: ConfigLoader<Config> } | undefined;

function loader(): ConfigLoader<Config> {
  if (current?.version !== registryVersion())
    current = { version: registryVersion(), loader: createConfigLoader<Config>(configSchema(), checkAll) };
  return current.loader;
}

/** Reads, substitutes `${VAR}`s, validates and checks a configuration text; every problem at once. */
export function loadConfigText(text: string, file: string, baseDir: string, env?: NodeJS.ProcessEnv): LoadResult {
  return loader().loadText(text, file, baseDir, env);
}

/** As loadConfigText, from a file; the embedded default when `path` is undefined. */
export function loadConfigFile(path: string | undefined, env?: NodeJS.ProcessEnv): LoadResult {
  return loader().loadFile(path, env);
}
export { routeViews };

/** A top-level section a module owns, typed by the schema the module declares for it (e.g. `BansNodeConfig`). */
export function sectionOf<T>(config: Config, key: string): T | undefined {
  return config[key] as T | undefined;
}
