/** Metrics of the challenge stage, on prom-client's global registry. */
import client from 'prom-client';

export const challengeMetrics = {
  outcomes: new client.Counter({
    name: 'bulwark_ddos_challenge_total',
    help: 'Proof-of-work challenge outcomes by route: issued (page served), solved (cookie set), failed (wrong, expired or forged solution), refused (429 to a client that does not accept HTML).',
    labelNames: ['route', 'outcome'] as const,
  }),
};
