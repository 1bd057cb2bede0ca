/**
 * The bans stage's registry entry. Every route refuses banned clients unless its config says `enforce: false`: a
 * ban holds for the whole node. The table is the process's (BAN_TABLE, bound by src/process so that the admin API,
 * the state file and replication share it) and outlives reloads; without a bound one the module makes its own.
 */
import { definePort, type StageModule } from '../../pipeline/index.js';
import { BansNodeSchema, BansRouteSchema, type BansNodeConfig, type BansRouteConfig } from './schema.js';
import { BansStage } from './stage.js';
import { BanTable } from './table.js';

/** The node's ban table, when the process made it (src/process); tests and embedders may leave it unbound. */
export const BAN_TABLE = definePort<BanTable>('ban-table');

interface BansNode {
  readonly table: BanTable;
  /** True when this module made the table, so it closes it at shutdown. */
  readonly owned: boolean;
}

export const bansModule: StageModule<BansRouteConfig, BansNode> = {
  name: 'bans',
  routeSchema: BansRouteSchema,
  nodeSchemas: { bans: BansNodeSchema },
  setup(ctx) {
    const bound = ctx.ports.get(BAN_TABLE);
    const node = bound ? { table: bound, owned: false } : (ctx.previous ?? { table: new BanTable(), owned: true });
    node.table.setMaxEntries((ctx.sections['bans'] as BansNodeConfig | undefined)?.max_entries);
    return node;
  },
  create: (route, node) => new BansStage(node.table, route.config ?? {}, route.name),
  retire: (node, next) => (next === undefined && node.owned ? node.table.close() : undefined),
};
