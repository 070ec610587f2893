import { auditCsvRow, csvCell } from '../../../src/ui/csv';
import { html, raw } from '../../../src/ui/html';

describe('csvCell', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+1', "'+1+1"], ['-2', "'-2"], ['@SUM(A1)', "'@SUM(A1)"], ['\tx', "'\tx"], ['\rx', `"'\rx"`],
    ['plain', 'plain'], ['a,b', '"a,b"'], ['line\nbreak', '"line\nbreak"'], ['', ''],
  ])('%j → %j', (input, out) => { expect(csvCell(input)).toBe(out); });

  it('neutralises the free text of an audit entry', () => {
    const row = auditCsvRow({ seq: 3, at: '2026-12-01T00:00:00Z', actor: 'bob', action: 'request.rejected', target: 'request/r1',
      details: { team: 'payments', reason: '=cmd|" /C calc"!A0' }, prevHash: '0', keyId: 'k1', hash: 'h' });
    expect(row).toContain(`"'=cmd|"" /C calc""!A0"`);
    expect(row.startsWith('3,2026-12-01T00:00:00Z,bob,request.rejected,request/r1,payments,')).toBe(true);
  });
});

describe('html', () => {
  it('escapes every interpolated value unless it is Html', () => {
    const name = '<script>alert("x")</script>';
    expect(html`<p title="${name}">${name}</p>`.value).toBe('<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>');
    expect(html`<p>${html`<b>${"'"}</b>`}${raw('<i>ok</i>')}${[1, '<', null, undefined, false]}</p>`.value).toBe('<p><b>&#39;</b><i>ok</i>1&lt;</p>');
  });
});
