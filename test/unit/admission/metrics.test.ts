/**
 * The webhook's counters, kept as numbers between scrapes and handed to prom-client when scraped:
 * each scrape shows every review and record counted so far, none twice, none lost.
 */
import { Registry } from 'prom-client';
import { AdmissionMetrics } from '../../../src/admission/metrics';

const value = async (registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name) as { values: Array<{ labels: Record<string, string>; value: number }> } | undefined;
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
};

describe('AdmissionMetrics', () => {
  it('counts reviews and records across scrapes', async () => {
    const registry = new Registry();
    const m = new AdmissionMetrics(registry, { stale: () => false, buffered: () => 4, approved: () => 10, exceptions: () => 0 });
    expect(await value(registry, 'portcullis_admission_reviews_total', { endpoint: 'validate', outcome: 'denied' })).toBe(0);
    for (let i = 0; i < 3; i += 1) m.review('validate', 'allowed');
    m.review('mutate', 'warned');
    m.record('sampled', 5);
    expect(await value(registry, 'portcullis_admission_reviews_total', { endpoint: 'validate', outcome: 'allowed' })).toBe(3);
    expect(await value(registry, 'portcullis_admission_reviews_total', { endpoint: 'mutate', outcome: 'warned' })).toBe(1);
    expect(await value(registry, 'portcullis_admission_records_total', { outcome: 'sampled' })).toBe(5);
    m.review('validate', 'allowed');
    m.record('sampled', 2);
    m.record('written', 1);
    expect(await value(registry, 'portcullis_admission_reviews_total', { endpoint: 'validate', outcome: 'allowed' })).toBe(4);
    expect(await value(registry, 'portcullis_admission_records_total', { outcome: 'sampled' })).toBe(7);
    expect(await value(registry, 'portcullis_admission_records_total', { outcome: 'written' })).toBe(1);
    expect(await registry.metrics()).toMatch(/portcullis_admission_records_buffered 4/);
  });
});
