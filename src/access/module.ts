/** The access stage's registry entry: its schema, the CIDR check, and the stage per route. */
import { routeStageModule } from '../pipeline/index.js';
import { parseCidr } from '../lib/ip.js';
import { AccessSchema, type AccessConfig } from './schema.js';
import { AccessStage } from './stage.js';

export const accessModule = routeStageModule<AccessConfig>({
  name: 'access',
  routeSchema: AccessSchema,
  check(config, at, ctx) {
    (Array.isArray(config.rules) ? config.rules : []).forEach((rule, j) =>
      (Array.isArray(rule?.cidrs) ? rule.cidrs : []).forEach((c, k) => {
        const parsed = typeof c === 'string' ? parseCidr(c) : null;
        if (typeof parsed === 'string') ctx.report([...at, 'rules', j, 'cidrs', k], parsed);
      }),
    );
  },
  create: (config) => new AccessStage(config),
});
