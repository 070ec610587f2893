/**
 * The bounds of a SARIF log (codeScans.*) and where a log that is not JSON breaks. A bound
 * names its key, its value, what was found and the JSON path; nothing is truncated. Locating a
 * syntax error is bounded too: in nesting depth, and in the length of the path it quotes.
 */
import { DEFAULT_CODE_SCAN_LIMITS } from '../../../../src/scanners/sarif/config';
import { jsonPath, locateSyntaxError, MAX_LOCATE_DEPTH, MAX_PATH_CHARS } from '../../../../src/scanners/sarif/json-syntax';
import { parseSarif, parseSarifText } from '../../../../src/scanners/sarif/normalize';

const limits = { ...DEFAULT_CODE_SCAN_LIMITS, maxRunsPerUpload: 2, maxResultsPerRun: 3, maxRulesPerRun: 2, maxNameLength: 8, maxMessageLength: 10, maxUriLength: 12 };
const run = (over: Record<string, unknown> = {}, driver: Record<string, unknown> = {}) => ({ tool: { driver: { name: 'T', ...driver } }, results: [], ...over });
const result = (over: Record<string, unknown> = {}) => ({ ruleId: 'r', message: { text: 'm' }, ...over });
const refusal = (log: unknown): unknown => {
  try {
    parseSarif(log, limits);
  } catch (err) {
    const e = err as { code: string; status: number; details: unknown; message: string };
    return { code: e.code, status: e.status, details: e.details, named: e.message.includes((e.details as { limit: string }).limit) };
  }
  return 'accepted';
};
const over = (limit: string, max: number, actual: number, path: string) => ({ code: 'CODE_SCAN_TOO_LARGE', status: 413, details: { limit: `codeScans.${limit}`, max, actual, path }, named: true });

describe('SARIF bounds', () => {
  test.each([
    ['runs per upload', { version: '2.1.0', runs: [run(), run(), run()] }, over('maxRunsPerUpload', 2, 3, 'runs')],
    ['tool name', { version: '2.1.0', runs: [run({}, { name: 'n'.repeat(9) })] }, over('maxNameLength', 8, 9, 'runs[0].tool.driver.name')],
    ['tool version', { version: '2.1.0', runs: [run({}, { semanticVersion: '1.2.3.4.5.6' })] }, over('maxNameLength', 8, 11, 'runs[0].tool.driver.semanticVersion')],
    ['rules per run', { version: '2.1.0', runs: [run({}, { rules: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] })] }, over('maxRulesPerRun', 2, 3, 'runs[0].tool.driver.rules')],
    ['rule id', { version: '2.1.0', runs: [run({}, { rules: [{ id: 'r'.repeat(20) }] })] }, over('maxNameLength', 8, 20, 'runs[0].tool.driver.rules[0].id')],
    ['rule help URI', { version: '2.1.0', runs: [run({}, { rules: [{ id: 'a', helpUri: `https://x/${'p'.repeat(10)}` }] })] }, over('maxUriLength', 12, 20, 'runs[0].tool.driver.rules[0].helpUri')],
    ['rule description', { version: '2.1.0', runs: [run({}, { rules: [{ id: 'a', fullDescription: { text: 'd'.repeat(11) } }] })] }, over('maxMessageLength', 10, 11, 'runs[0].tool.driver.rules[0].fullDescription.text')],
    ['results per run', { version: '2.1.0', runs: [run({ results: [result(), result(), result(), result()] })] }, over('maxResultsPerRun', 3, 4, 'runs[0].results')],
    ['distinct rule ids among results', { version: '2.1.0', runs: [run({ results: [result({ ruleId: 'a' }), result({ ruleId: 'b' }), result({ ruleId: 'c' })] })] }, over('maxRulesPerRun', 2, 3, 'runs[0].results')],
    ['result rule id', { version: '2.1.0', runs: [run({ results: [result({ ruleId: 'x'.repeat(9) })] })] }, over('maxNameLength', 8, 9, 'runs[0].results[0].ruleId')],
    ['message', { version: '2.1.0', runs: [run({ results: [result({ message: { text: 'm'.repeat(11) } })] })] }, over('maxMessageLength', 10, 11, 'runs[0].results[0].message.text')],
    ['location URI', { version: '2.1.0', runs: [run({ results: [result({ locations: [{}, { physicalLocation: { artifactLocation: { uri: 'u'.repeat(13) } } }] })] })] }, over('maxUriLength', 12, 13, 'runs[0].results[0].locations[1].physicalLocation.artifactLocation.uri')],
  ])('%s over its bound is refused, naming the key', (_what, log, expected) => {
    expect(refusal(log)).toEqual(expected);
  });

  test('a log at every bound is accepted whole', () => {
    const log = {
      version: '2.1.0',
      runs: [run({ results: [result({ ruleId: 'a'.repeat(8), message: { text: 'm'.repeat(10) }, locations: [{ physicalLocation: { artifactLocation: { uri: 'u'.repeat(12) } } }] }), result({ ruleId: 'b' }), result({ ruleId: 'b' })] }, { name: 'n'.repeat(8), rules: [{ id: 'a'.repeat(8) }, { id: 'b' }] }), run()],
    };
    const scans = parseSarif(log, limits);
    expect(scans[0].tool).toBe('n'.repeat(8));
    expect(scans[0].findings.map((f) => [f.id, f.title, f.path])).toEqual([['a'.repeat(8), 'm'.repeat(10), 'u'.repeat(12)], ['b', 'm', undefined], ['b', 'm', undefined]]);
  });

  test('only http(s) help URIs become links', () => {
    const log = (helpUri: string) => ({ version: '2.1.0', runs: [run({ results: [result()] }, { rules: [{ id: 'r', helpUri }] })] });
    expect(parseSarif(log('https://example.test/r'))[0].findings[0].links).toEqual(['https://example.test/r']);
    expect(parseSarif(log('javascript:alert(1)'))[0].findings[0].links).toEqual([]);
    expect(parseSarif(log('not a valid URI'))[0].findings[0].links).toEqual([]);
  });
});

describe('where a JSON text breaks', () => {
  test.each([
    ['{"a": 1,\n  , "b": 2}', { path: '$', line: 2, column: 3 }],
    ['{"runs": [{"tool": {"driver": {"name": tru}}}]}', { path: 'runs[0].tool.driver.name', line: 1, column: 40 }],
    ['{"runs": [1, 2, ]}', { path: 'runs[2]', line: 1, column: 17 }],
    ['{"a" 1}', { path: 'a', line: 1, column: 6 }],
    ['{"a": "open', { path: 'a', line: 1, column: 12 }],
    ['{"a": "\\x"}', { path: 'a', line: 1, column: 8 }],
    ['{"a": 1} {}', { path: '$', line: 1, column: 10 }],
    ['{"a": [1, 2', { path: 'a[1]', line: 1, column: 12 }],
    ['{"a": -}', { path: 'a', line: 1, column: 7 }],
  ])('%j', (text, where) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateSyntaxError(text)).toMatchObject(where);
  });

  test('valid JSON has no error, deep nesting does not overflow', () => {
    for (const text of ['{}', '[]', '"s"', ' 0 ', '{"a":[1,-2.5e3,true,false,null,{"b":"\\u00e9\\n"}]}']) expect(locateSyntaxError(text)).toBeNull();
    const deep = `${'['.repeat(MAX_LOCATE_DEPTH)}${']'.repeat(MAX_LOCATE_DEPTH - 1)}`;
    expect(locateSyntaxError(deep)).toMatchObject({ line: 1, column: 2 * MAX_LOCATE_DEPTH, problem: 'unexpected end of the text' });
    expect(locateSyntaxError(deep)).not.toHaveProperty('maxDepth');
  });

  test('nesting deeper than MAX_LOCATE_DEPTH stops the locator there, with a short path', () => {
    const at = locateSyntaxError(`${'['.repeat(1024 * 1024)}x`);
    expect(at).toMatchObject({ line: 1, column: MAX_LOCATE_DEPTH + 1, maxDepth: MAX_LOCATE_DEPTH, problem: expect.stringContaining('nesting deeper than 128') });
    expect(at!.path.length).toBeLessThanOrEqual(MAX_PATH_CHARS + 1);
    expect(at!.path.endsWith('…')).toBe(true);
  });

  test('a 1 MiB [[[[…x upload is INVALID_SARIF with a short message and path', () => {
    let err: unknown;
    try { parseSarifText(`${'['.repeat(1024 * 1024)}x`); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'INVALID_SARIF', details: { line: 1, column: MAX_LOCATE_DEPTH + 1, maxDepth: MAX_LOCATE_DEPTH } });
    const e = err as { message: string; details: { path: string } };
    expect(e.message).toContain('nesting deeper than 128 levels');
    expect(e.message.length).toBeLessThan(500);
    expect(e.details.path.length).toBeLessThanOrEqual(MAX_PATH_CHARS + 1);
  });

  test('a megabyte-long property name is cut in the path', () => {
    const key = 'k'.repeat(1024 * 1024);
    const at = locateSyntaxError(`{"runs": [{"${key}": {"a": tru}}]}`);
    expect(at!.path.length).toBe(MAX_PATH_CHARS + 1);
    expect(at!.path.startsWith('runs[0].kkk') && at!.path.endsWith('k…')).toBe(true);
    expect(jsonPath(['runs', 0, 'a b'])).toBe('runs[0]["a b"]');
    expect(jsonPath(Array(100).fill('segment'), 30)).toBe(`${'segment.'.repeat(4)}`.slice(0, 30) + '…');
  });

  test('a log that is not JSON is INVALID_SARIF naming the path, line and column', () => {
    expect(() => parseSarifText('{\n  "version": "2.1.0",\n  "runs": [ { "tool": } ]\n}')).toThrow(expect.objectContaining({
      code: 'INVALID_SARIF', details: { path: 'runs[0].tool', line: 3, column: 23 },
      message: expect.stringContaining('at runs[0].tool (line 3, column 23)'),
    }));
  });
});
