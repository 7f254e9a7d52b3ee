{ out: std.manifestYamlDoc({ greek: 'αβγ', emoji: '😀', cjk: '日本語', ctrl: '\u0001\u001f', tab: 'a\tb', del: '\u007f', nbsp: '\u00a0', bom: '\ufeff', bslash: 'a\\b' }) }
