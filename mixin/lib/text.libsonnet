// Small text helpers shared by the alert files, so that a threshold changed
// in _config reads the same in expressions and in annotations.
local numberWords = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];
local units = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };

{
  // 3 -> "three" (up to ten), 12 -> "12": for prose such as "three poll
  // intervals".
  words(n):: if n >= 0 && n <= 10 && n == std.floor(n) then numberWords[n] else std.toString(n),

  // A Prometheus duration with one unit, '5m' -> "5 minutes", '1h' -> "1 hour".
  duration(d)::
    local unit = d[std.length(d) - 1];
    local n = std.parseInt(std.substr(d, 0, std.length(d) - 1));
    assert std.objectHas(units, unit) : 'duration %s: use one unit of s, m, h, d, w' % d;
    '%d %s%s' % [n, units[unit], if n == 1 then '' else 's'],

  // A PromQL regex alternation of label values.
  alternation(values):: std.join('|', values),

  // The same list in prose: "a, b, c".
  list(values):: std.join(', ', values),

  // A multi-line annotation from a ||| text block, without the block's final
  // newline (YAML `|-`).
  lines(block):: std.rstripChars(block, '\n'),
}
