local hiddenOnly = { h:: 1 };
{ out: std.manifestYamlDoc({ a: hiddenOnly, b: [hiddenOnly, { c: hiddenOnly }], d: { e: hiddenOnly } }), json: std.manifestJsonEx({ a: hiddenOnly, b: [hiddenOnly] }, '  '), toml: std.manifestTomlEx({ t: hiddenOnly, arr: [hiddenOnly] }, '  '), str: std.toString({ a: hiddenOnly }) }
