// GET /jsonnet/greeting?name=Ada&tag=a&tag=b: query parameters are top-level arguments (a repeated one a list).
local greetings = import 'greetings/greetings.libsonnet';

function(name='world', tag=[])
  {
    message: greetings.hello(name),
    tags: if std.isArray(tag) then tag else [tag],
  }
