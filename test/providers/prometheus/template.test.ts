import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileTemplate, type GoValue, TemplateError } from '../../../src/providers/prometheus/template.js';

const QUERY_DATA = {
  Series: 'http_requests_total',
  LabelMatchers: 'namespace="default",pod=~"web-1|web-2"',
  LabelValuesByName: new Map([
    ['namespace', 'default'],
    ['pod', 'web-1|web-2'],
  ]),
  GroupBy: 'pod',
  GroupBySlice: ['pod'],
};

function render(source: string, data: GoValue = QUERY_DATA): string {
  return compileTemplate(source).execute(data);
}

function renderError(source: string, data: GoValue = QUERY_DATA): string {
  try {
    render(source, data);
  } catch (error) {
    assert.ok(error instanceof TemplateError, `expected a TemplateError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(source)} to fail`);
}

describe('template fields prometheus-adapter fills', () => {
  it('renders the default rule query exactly', () => {
    assert.equal(
      render('sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)'),
      'sum(rate(http_requests_total{namespace="default",pod=~"web-1|web-2",container!="POD"}[5m])) by (pod)',
    );
  });

  it('prints a slice as Go does: [a b]', () => {
    assert.equal(render('<<.GroupBySlice>>', { GroupBySlice: ['pod', 'namespace'] }), '[pod namespace]');
    assert.equal(render('<<.GroupBySlice>>', { GroupBySlice: [] }), '[]');
  });

  it('prints a map with sorted keys: map[k:v]', () => {
    assert.equal(render('<<.LabelValuesByName>>'), 'map[namespace:default pod:web-1|web-2]');
  });

  it('reads map entries by index and by field, and a missing key as Go does', () => {
    assert.equal(render('<<index .LabelValuesByName "pod">>'), 'web-1|web-2');
    assert.equal(render('<<.LabelValuesByName.namespace>>'), 'default');
    assert.equal(render('[<<index .LabelValuesByName "missing">>]'), '[]');
    assert.equal(render('<<.LabelValuesByName.missing>>'), '<no value>');
  });

  it('refuses a field the struct does not have', () => {
    assert.match(renderError('<<.Nope>>'), /can't evaluate field Nope in type struct/);
  });

  it('leaves text without actions untouched, including PromQL braces', () => {
    assert.equal(render('sum(up{job="x"}) by (instance)'), 'sum(up{job="x"}) by (instance)');
    assert.equal(render(''), '');
  });
});

describe('control structures', () => {
  it('ranges over a slice with index and value, and uses $i for separators', () => {
    assert.equal(
      render('<<range $i, $v := .GroupBySlice>><<if $i>>,<<end>><<$v>><<end>>', { GroupBySlice: ['a', 'b', 'c'] }),
      'a,b,c',
    );
  });

  it('ranges over a map in sorted key order', () => {
    const data = {
      M: new Map([
        ['b', '2'],
        ['a', '1'],
      ]),
    };
    assert.equal(render('<<range $k, $v := .M>><<$k>>=<<$v>>;<<end>>', data), 'a=1;b=2;');
  });

  it('builds matchers from LabelValuesByName, skipping one label (a common user config)', () => {
    assert.equal(
      render(
        '<<range $key, $value := .LabelValuesByName>><<if ne $key "namespace">><<$key>>="<<$value>>",<<end>><<end>>',
      ),
      'pod="web-1|web-2",',
    );
  });

  it('takes the else branch of an empty range, and dot is the element inside', () => {
    assert.equal(render('<<range .S>>x<<else>>empty<<end>>', { S: [] }), 'empty');
    assert.equal(render('<<range .S>>(<<.>>)<<end>>', { S: ['a', 'b'] }), '(a)(b)');
  });

  it('supports break and continue', () => {
    const data = { S: ['a', 'b', 'c', 'd'] };
    assert.equal(
      render('<<range .S>><<if eq . "b">><<continue>><<end>><<if eq . "d">><<break>><<end>><<.>><<end>>', data),
      'ac',
    );
  });

  it('chains if / else if / else with one end', () => {
    const t = compileTemplate('<<if eq .X 1>>one<<else if eq .X 2>>two<<else>>many<<end>>');
    assert.deepEqual(
      [1, 2, 3].map((X) => t.execute({ X })),
      ['one', 'two', 'many'],
    );
  });

  it('with sets dot and skips empty values', () => {
    assert.equal(render('<<with .GroupBy>>by (<<.>>)<<end>>'), 'by (pod)');
    assert.equal(render('<<with .GroupBy>>by (<<.>>)<<else>>none<<end>>', { GroupBy: '' }), 'none');
  });

  it('declares and reassigns variables with := and =, scoped to their block', () => {
    assert.equal(render('<<$s := "a">><<if true>><<$s = "b">><<end>><<$s>>'), 'b');
    assert.match(renderError('<<if true>><<$x := 1>><<end>><<$x>>'), /undefined variable: \$x/);
  });

  it('reads the root data through $ inside range', () => {
    assert.equal(render('<<range .GroupBySlice>><<$.Series>>:<<.>><<end>>'), 'http_requests_total:pod');
  });
});

describe('whitespace trimming and comments', () => {
  it('trims around <<- and ->> and drops comments', () => {
    const source = 'sum(\n  <<- .Series ->>\n) by (<</* the object label */>><<.GroupBy>>)';
    assert.equal(render(source), 'sum(http_requests_total) by (pod)');
  });

  it('treats <<-3>> as a negative number, not a trim marker', () => {
    assert.equal(render('x <<-3>>', {}), 'x -3');
  });

  it('renders a multi-line metricsQuery as YAML block scalars deliver it', () => {
    const source = 'sum by (<<.GroupBy>>) (\n  rate(<<.Series>>{<<.LabelMatchers>>}[2m])\n)\n';
    assert.equal(
      render(source),
      'sum by (pod) (\n  rate(http_requests_total{namespace="default",pod=~"web-1|web-2"}[2m])\n)\n',
    );
  });
});

describe('functions', () => {
  it('compares with eq (any of several), ne, lt, le, gt, ge', () => {
    assert.equal(
      render('<<eq .GroupBy "x" "pod">> <<ne 1 2>> <<lt 1 2>> <<le 2 2>> <<gt "b" "a">> <<ge 1 2>>'),
      'true true true true true false',
    );
    assert.match(renderError('<<eq "a" 1>>'), /incompatible types for comparison/);
  });

  it('short-circuits and / or and returns the deciding operand', () => {
    assert.equal(render('<<or .LabelValuesByName.missing "fallback">>'), 'fallback');
    assert.equal(render('<<and 1 0 .Nope>>'), '0');
    assert.equal(render('<<not "">>'), 'true');
  });

  it('counts bytes, elements and entries with len', () => {
    assert.equal(render('<<len .Series>> <<len .GroupBySlice>> <<len .LabelValuesByName>> <<len "é">>'), '19 1 2 2');
  });

  it('indexes slices and slices strings', () => {
    assert.equal(render('<<index .GroupBySlice 0>> <<slice .Series 0 4>> <<slice .Series 14>>'), 'pod http total');
    assert.match(renderError('<<index .GroupBySlice 3>>'), /index out of range: 3/);
  });

  it('formats with printf, print and println as fmt does', () => {
    assert.equal(
      render('<<printf "%s{%s}" .Series .LabelMatchers>>', { Series: 'up', LabelMatchers: 'a="b"' }),
      'up{a="b"}',
    );
    assert.equal(
      render('<<printf "%q %d %5.2f|%-4s|%04d %x %v %t" "a" 42 3.14159 "ab" 7 255 .S true>>', { S: ['x', 'y'] }),
      '"a" 42  3.14|ab  |0007 ff [x y] true',
    );
    assert.equal(render('<<printf "%d" "x">>', {}), '%!d(string=x)');
    assert.equal(render('<<printf "%s %s" "x">>', {}), 'x %!s(MISSING)');
    assert.equal(render('<<print 1 2 "a" 3>>', {}), '1 2a3');
    assert.equal(render('<<println "a" 1>>', {}), 'a 1\n');
  });

  it('prints floats with Go %v rules', () => {
    assert.equal(render('<<1.5>> <<0.00001>> <<1234567.5>> <<-0.25>>', {}), '1.5 1e-05 1.2345675e+06 -0.25');
  });

  it('pipes the previous result in as the last argument', () => {
    assert.equal(render('<<.Series | printf "%s_rate">>'), 'http_requests_total_rate');
    assert.equal(render('<<"a b&c" | urlquery>> <<"<x>" | html>> <<"it\'s" | js>>', {}), "a+b%26c &lt;x&gt; it\\'s");
  });

  it('evaluates parenthesised pipelines as arguments', () => {
    assert.equal(render('<<printf "%d" (len .GroupBySlice)>>'), '1');
  });

  it('reads Go string escapes and raw strings', () => {
    assert.equal(render('<<"a\\tb">>|<<`raw\\n`>>|<<"\\u00e9">>', {}), 'a\tb|raw\\n|é');
  });
});

describe('errors say what and where', () => {
  const cases: [string, RegExp][] = [
    ['<<.Series', /unclosed action/],
    ['<<if .X>>yes', /missing <<end>>/],
    ['<<end>>', /unexpected <<end>>/],
    ['<<join .GroupBySlice ",">>', /function "join" not defined/],
    ['<<template "x">>', /not supported/],
    ['<<break>>', /outside <<range>>/],
    ['<<"unterminated>>', /unterminated quoted string/],
    ['<</* open comment', /unclosed comment/],
    ['<<(.Series>>', /unclosed left paren/],
  ];
  for (const [source, expected] of cases) {
    it(`refuses ${JSON.stringify(source)} at parse time`, () => {
      assert.throws(
        () => compileTemplate(source),
        (error: unknown) => {
          assert.ok(error instanceof TemplateError);
          assert.match(error.message, expected);
          assert.match(error.message, /line \d+, column \d+/);
          return true;
        },
      );
    });
  }

  it('refuses arguments given to a field', () => {
    assert.match(renderError('<<.Series "x">>'), /can't give argument to non-function \.Series/);
  });
});
