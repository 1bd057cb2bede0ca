/** The lists stage's registry entry: its schema, the CIDR and file checks, and the stage per route. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCidr } from '../../lib/ip.js';
import { routeStageModule } from '../../pipeline/index.js';
import { ListsSchema, type ListsConfig } from './schema.js';
import { ListsStage } from './stage.js';

export const listsModule = routeStageModule<ListsConfig>({
  name: 'lists',
  routeSchema: ListsSchema,
  check(config, at, ctx) {
    for (const list of ['allow', 'deny'] as const) {
      const entries: unknown = config[list];
      (Array.isArray(entries) ? entries : []).forEach((c: unknown, k) => {
        const parsed = typeof c === 'string' ? parseCidr(c) : null;
        if (typeof parsed === 'string') ctx.report([...at, list, k], parsed);
      });
      const files: unknown = config[`${list}_files`];
      (Array.isArray(files) ? files : []).forEach((f: unknown, k) => {
        if (typeof f === 'string' && !existsSync(resolve(ctx.baseDir, f)))
          ctx.report([...at, `${list}_files`, k], `file "${f}" does not exist`);
      });
    }
  },
  create: (config, deps) => new ListsStage(config, deps.routeName, deps.baseDir),
});
