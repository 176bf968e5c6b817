// Text forms of the mixin's output that read like hand-written files: YAML
// rule files with multi-line expressions as block scalars and keys in the
// order Prometheus documents them, and 2-space indented JSON with plain
// numbers (std.manifestJsonEx would write 0.9 as 0.90000000000000002).
local keyOrder = [
  'name',
  'interval',
  'rules',
  'alert',
  'record',
  'expr',
  'for',
  'keep_firing_for',
  'labels',
  'annotations',
  'summary',
  'description',
  'runbook_url',
  // Alertmanager's configuration, and the Operator's AlertmanagerConfig.
  'templates',
  'route',
  'inhibit_rules',
  'matchers',
  'source_matchers',
  'target_matchers',
  'sourceMatch',
  'targetMatch',
  'equal',
  'receiver',
  'group_by',
  'groupBy',
  'group_wait',
  'groupWait',
  'group_interval',
  'groupInterval',
  'repeat_interval',
  'repeatInterval',
  'routes',
];
// The keys of keyOrder first, in that order, then the others sorted; `#`
// is no field but the object's comment (see yamlObject).
local fields(object) =
  [key for key in keyOrder if std.objectHas(object, key)]
  + [key for key in std.objectFields(object) if !std.member(keyOrder, key) && key != '#'];

// Whether `s` contains `part` (std.findSubstr is slow on long strings).
local contains(s, part) = std.length(std.split(s, part)) > 1;

local yamlWords = ['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null'];
local plainChar(ch) =
  (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == '/';
local numberChar(ch) = (ch >= '0' && ch <= '9') || ch == 'e' || ch == 'E' || ch == '.' || ch == '+' || ch == '-' || ch == '_';
// A string YAML reads back as the same string when written without quotes.
local isPlain(s) =
  std.length(s) > 0
  && std.length(s) <= 100
  && !contains(s, ' ')
  && std.length([ch for ch in std.stringChars(s) if !plainChar(ch)]) == 0
  && plainChar(s[0]) && s[0] != '-' && s[0] != '.' && s[0] != '/'
  && !std.member(yamlWords, std.asciiLower(s))
  && std.length([ch for ch in std.stringChars(s) if !numberChar(ch)]) > 0;
// A string that a literal block scalar (`|` or `|-`) keeps exactly.
local isBlock(s) =
  contains(s, '\n')
  && s[0] != ' '
  && !std.endsWith(s, '\n\n')
  && !contains(s, '\r')
  && !contains(s, '\t');

// A JSON (and YAML) double-quoted string. std.escapeStringJson is slow on
// long strings, so it only handles the rare ones with control characters
// other than newline, tab and carriage return.
local quote(s) =
  local rare = [ch for ch in std.stringChars(s) if std.codepoint(ch) < 32 && ch != '\n' && ch != '\t' && ch != '\r'];
  local replace(text, pair) = std.strReplace(text, pair[0], pair[1]);
  if std.length(rare) > 0 then std.escapeStringJson(s)
  else '"' + std.foldl(replace, [['\\', '\\\\'], ['"', '\\"'], ['\n', '\\n'], ['\t', '\\t'], ['\r', '\\r']], s) + '"';

local number(n) = if n == std.floor(n) && std.abs(n) < 1e15 then std.toString(n) else '%.15g' % n;

local scalar(v) =
  if std.isString(v) then (if isPlain(v) then v else quote(v))
  else if std.isBoolean(v) then (if v then 'true' else 'false')
  else if v == null then 'null'
  else number(v);

// The lines of `key: value` at indentation `indent` (the three are
// mutually recursive, hence one `local`).
local yamlField(indent, key, v) =
  if std.isString(v) && isBlock(v) then
    local chomp = if std.endsWith(v, '\n') then '|' else '|-';
    local body = std.split(std.rstripChars(v, '\n'), '\n');
    [indent + scalar(key) + ': ' + chomp] + [if line == '' then '' else indent + '  ' + line for line in body]
  else if std.isObject(v) && std.length(std.objectFields(v)) > 0 then
    [indent + scalar(key) + ':'] + yamlObject(indent + '  ', v)
  else if std.isArray(v) && std.length(v) > 0 then
    [indent + scalar(key) + ':'] + yamlArray(indent + '  ', v)
  else if std.isObject(v) then [indent + scalar(key) + ': {}']
  else if std.isArray(v) then [indent + scalar(key) + ': []']
  else [indent + scalar(key) + ': ' + scalar(v)],

      // An object's `#` field, a string, is written as comment lines above
      // its fields (above the `- ` of an array item).
      yamlComment(indent, object) =
  if std.objectHas(object, '#') then
    [if line == '' then indent + '#' else indent + '# ' + line for line in std.split(std.rstripChars(object['#'], '\n'), '\n')]
  else [],

      yamlObject(indent, object) =
  yamlComment(indent, object)
  + std.flattenArrays([yamlField(indent, key, object[key]) for key in fields(object)]),

      yamlFields(indent, object) =
  std.flattenArrays([yamlField(indent, key, object[key]) for key in fields(object)]),

      // Array items; objects are separated by a blank line, as rules are in a
      // hand-written rule file.
      yamlArray(indent, items) =
  local item(v) =
    if std.isObject(v) && std.length(fields(v)) > 0 then
      local lines = yamlFields(indent + '  ', v);
      yamlComment(indent, v)
      + [indent + '- ' + std.substr(lines[0], std.length(indent) + 2, std.length(lines[0]))] + lines[1:]
    else if std.isArray(v) || std.isObject(v) then error 'YAML: nested empty or array items are not supported'
    else [indent + '- ' + scalar(v)];
  local rendered = [item(v) for v in items];
  std.flattenArrays([
    (if i > 0 && std.isObject(items[i]) then [''] else []) + rendered[i]
    for i in std.range(0, std.length(items) - 1)
  ]);

local json(v, indent) =
  local inner = indent + '  ';
  if std.isObject(v) then
    if std.length(std.objectFields(v)) == 0 then '{}'
    else '{\n' + std.join(',\n', [
      inner + quote(key) + ': ' + json(v[key], inner)
      for key in std.objectFields(v)
    ]) + '\n' + indent + '}'
  else if std.isArray(v) then
    if std.length(v) == 0 then '[]'
    else '[\n' + std.join(',\n', [inner + json(item, inner) for item in v]) + '\n' + indent + ']'
  else if std.isString(v) then quote(v)
  else scalar(v);

// `value` evaluated once, as plain data: jsonnet evaluates an object's
// field again at every access, and the emitters look at each value several
// times (native manifestation and parsing are fast). The std functions
// written in jsonnet (std.member on strings, std.findSubstr, std.format,
// std.escapeStringJson) are slow here, so the emitters avoid them on hot
// paths.
local evaluated(value) = std.parseJson(std.toString(value));

{
  // An object as a YAML document body.
  yaml(object):: std.join('\n', yamlObject('', evaluated(object))) + '\n',

  // A value as pretty JSON, with a final newline.
  json(value):: json(evaluated(value), '') + '\n',

  // Each non-empty line of `text` prefixed with `prefix`.
  indent(text, prefix):: std.join('\n', [if line == '' then '' else prefix + line for line in std.split(text, '\n')]),

  // `text` as `#` comment lines.
  comment(text):: std.join('\n', [if line == '' then '#' else '# ' + line for line in std.split(std.rstripChars(text, '\n'), '\n')]) + '\n',
}
