/**
 * Metric children for the request path. prom-client hashes a child's label values on every inc() and observe();
 * under a flood of refusals that was about a microsecond per request across the four series a refusal touches.
 * These children add to plain numbers and reach prom-client only when metrics are read (its `collect` hook), so
 * /metrics and the primary's aggregation across workers see the same series as before.
 */
import client from 'prom-client';

export interface CountChild {
  inc(by?: number): void;
}

class PendingCount implements CountChild {
  pending = 0;
  constructor(readonly labels: Record<string, string>) {}
  inc(by = 1): void {
    this.pending += by;
  }
}

type AnyCounter = client.Counter<string>;
const pendingByCounter = new Map<AnyCounter, Map<string, PendingCount>>();

/** A child of `counter` with these label values, in the order of the counter's labelNames. */
export function batchedCounter(counter: AnyCounter, ...values: string[]): CountChild {
  let children = pendingByCounter.get(counter);
  if (!children) {
    const all = new Map<string, PendingCount>();
    children = all;
    pendingByCounter.set(counter, all);
    // prom-client calls `collect` (a config option, kept as a property) before it reads a metric's values.
    const hooked = counter as unknown as { collect?: (this: AnyCounter) => unknown };
    const previous = hooked.collect;
    hooked.collect = function (this: AnyCounter) {
      for (const child of all.values()) {
        if (child.pending > 0) {
          counter.inc(child.labels, child.pending);
          child.pending = 0;
        }
      }
      return previous?.call(this);
    };
  }
  // One child per series, shared by every stage instance that asks (reloads build new ones).
  const key = values.join('\u0000');
  let child = children.get(key);
  if (!child) {
    const names = (counter as unknown as { labelNames: readonly string[] }).labelNames;
    const labels: Record<string, string> = {};
    names.forEach((name, i) => (labels[name] = values[i] ?? ''));
    child = new PendingCount(labels);
    children.set(key, child);
  }
  return child;
}

export interface ObserveChild {
  observe(value: number): void;
}

class HistogramSeries implements ObserveChild {
  /** Per bucket, not cumulative; the last slot counts values above every bound (+Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Record<string, string>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/**
 * A histogram with the text and JSON forms of prom-client's own (so AggregatorRegistry sums it across workers),
 * whose children cost a short loop and three additions per observation.
 */
export class BatchedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly string[];
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(config: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[] }) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.bounds = [...config.buckets].sort((a, b) => a - b);
    client.register.registerMetric(this as unknown as client.Metric<string>);
  }

  labels(...values: string[]): ObserveChild {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      s = new HistogramSeries(labels, this.bounds);
      this.series.set(key, s);
    }
    return s;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }>;
  } {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const s of this.series.values()) {
      if (s.count === 0) continue; // as prom-client: a series appears once it has an observation
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
