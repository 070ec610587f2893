import { readFileSync } from 'node:fs';
import path from 'node:path';
import { jsonPath, parseSarif, parseSarifText } from '../../../../src/scanners/sarif/normalize';

const FIXTURE = path.join(__dirname, '../../../fixtures/sarif/codeql.sarif.json');
const log = (): Record<string, any> => JSON.parse(readFileSync(FIXTURE, 'utf8'));

describe('SARIF 2.1.0 code-scan evidence', () => {
  test('normalizes every run: tool names, severities, paths; pass results dropped', () => {
    const scans = parseSarifText(readFileSync(FIXTURE, 'utf8'));
    expect(scans.map((s) => [s.tool, s.toolVersion])).toEqual([
      ['CodeQL', '2.15.0'],
      ['Black Duck', '2024.1'],
    ]);
    expect(scans[0]!.findings.map((f) => [f.id, f.severity, f.path])).toEqual([
      ['js/sql-injection', 'high', 'src/db.js:42'], // security-severity 8.8 wins over level error
      ['js/unused-local-variable', 'low', 'src/a.js'], // rule default level note
      ['js/hardcoded-credentials', 'critical', undefined], // rule found by rule.index, numeric security-severity
    ]);
    expect(scans[0]!.findings[0]).toMatchObject({
      kind: 'code',
      title: 'This query depends on a user-provided value.',
      links: ['https://codeql.github.com/codeql-query-help/javascript/js-sql-injection/'],
    });
    expect(scans[1]!.findings.map((f) => [f.id, f.severity])).toEqual([
      ['BD-1', 'medium'],
      ['BD-2', 'medium'], // absent level defaults to warning
      ['BD-3', 'unknown'], // none
    ]);
  });

  test.each<[string, (l: Record<string, any>) => void, string]>([
    ['wrong version', (l) => (l.version = '2.0.0'), 'version'],
    ['runs missing', (l) => delete l.runs, 'runs'],
    ['tool name missing', (l) => delete l.runs[0].tool.driver.name, 'runs[0].tool.driver.name'],
    ['ruleId not a string', (l) => (l.runs[0].results[3].ruleId = 7), 'runs[0].results[3].ruleId'],
    ['bad level', (l) => (l.runs[1].results[0].level = 'fatal'), 'runs[1].results[0].level'],
    ['message missing', (l) => delete l.runs[1].results[2].message, 'runs[1].results[2].message'],
    ['bad startLine', (l) => (l.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0),
      'runs[0].results[0].locations[0].physicalLocation.region.startLine'],
  ])('%s → INVALID_SARIF at %s', (_what, breakIt, where) => {
    const l = log();
    breakIt(l);
    let error: unknown;
    try {
      parseSarif(l);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_SARIF', status: 400, details: { path: where } });
    expect((error as Error).message).toContain(` at ${where}:`);
  });

  test('non-JSON is INVALID_SARIF', () => {
    expect(() => parseSarifText('{"version": ')).toThrow(expect.objectContaining({ code: 'INVALID_SARIF' }));
  });

  test('jsonPath formats zod paths', () => {
    expect(jsonPath(['runs', 0, 'results', 3, 'ruleId'])).toBe('runs[0].results[3].ruleId');
    expect(jsonPath(['properties', 'security-severity'])).toBe('properties["security-severity"]');
    expect(jsonPath([])).toBe('$');
  });
});
