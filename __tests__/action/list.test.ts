import { ListSyntaxError, parseKeyValueCsv, parseList } from '../../src/action/list.js';
import { parseImageReference, repositoryOf } from '../../src/registry/image-reference.js';

describe('parseList', () => {
  it.each<[string, string, { ignoreComma?: boolean; keepWhitespace?: boolean }, string[]]>([
    ['empty', '', {}, []],
    ['blank', ' \n \n', {}, []],
    ['newlines', 'a\nb\nc', {}, ['a', 'b', 'c']],
    ['commas', 'a,b,c', {}, ['a', 'b', 'c']],
    ['mixed', 'a,b\nc', {}, ['a', 'b', 'c']],
    ['trims and drops empties', ' a , ,b \n\n c ', {}, ['a', 'b', 'c']],
    ['quotes protect commas', '"a,b",c', {}, ['a,b', 'c']],
    ['doubled quote inside quotes', '"say ""hi""",x', {}, ['say "hi"', 'x']],
    ['stray quote is literal', 'KEY=va"lue', {}, ['KEY=va"lue']],
    ['# is not a comment', 'a#b, #c', {}, ['a#b', '#c']],
    ['ignoreComma keeps commas', 'A=1,2\nB=3', { ignoreComma: true }, ['A=1,2', 'B=3']],
    ['ignoreComma re-joins quoted fields', '"A=1,2",3', { ignoreComma: true }, ['A=1,2,3']],
    ['quoted newline', '"A=l1\nl2"\nB=2', { ignoreComma: true }, ['A=l1\nl2', 'B=2']],
    ['keepWhitespace', ' A=1 \nB=2', { ignoreComma: true, keepWhitespace: true }, [' A=1 ', 'B=2']],
    ['CRLF', 'a\r\nb', {}, ['a', 'b']],
  ])('%s', (_name, text, opts, expected) => {
    expect(parseList(text, opts)).toEqual(expected);
  });

  it('reports unbalanced quotes with csv-parse error code', () => {
    expect(() => parseList('"a\nb')).toThrow(ListSyntaxError);
    try {
      parseList('"a\nb');
    } catch (err) {
      expect((err as ListSyntaxError).code).toBe('CSV_QUOTE_NOT_CLOSED');
    }
  });
});

describe('parseKeyValueCsv', () => {
  it.each<[string, [string, string | undefined][]]>([
    ['type=registry,ref=a/b:c', [['type', 'registry'], ['ref', 'a/b:c']]],
    ['a=1=2', [['a', '1=2']]],
    ['"a=x,y",b', [['a', 'x,y'], ['b', undefined]]],
    [' k = v ', [['k', 'v']]],
  ])('%s', (text, expected) => expect(parseKeyValueCsv(text)).toEqual(expected));
});

describe('image references', () => {
  it.each<[string, { domain: string; path: string; tag: string }]>([
    ['alpine', { domain: '', path: 'alpine', tag: '' }],
    ['alpine:3', { domain: '', path: 'alpine', tag: '3' }],
    ['user/app:1', { domain: '', path: 'user/app', tag: '1' }],
    ['localhost/app', { domain: 'localhost', path: 'app', tag: '' }],
    ['localhost:5000/a/b:1', { domain: 'localhost:5000', path: 'a/b', tag: '1' }],
    ['ghcr.io/o/a:v1', { domain: 'ghcr.io', path: 'o/a', tag: 'v1' }],
    ['[2001:db8::1]:5000/a:1', { domain: '[2001:db8::1]:5000', path: 'a', tag: '1' }],
  ])('%s', (ref, expected) => expect(parseImageReference(ref)).toEqual(expected));

  it.each<[string, string]>([
    ['localhost:5000/a/b:1', 'localhost:5000/a/b'],
    ['a/b@sha256:abc', 'a/b'],
    ['a/b:1@sha256:abc', 'a/b'],
    ['host:1/x', 'host:1/x'],
  ])('repositoryOf(%s)', (ref, expected) => expect(repositoryOf(ref)).toBe(expected));
});
