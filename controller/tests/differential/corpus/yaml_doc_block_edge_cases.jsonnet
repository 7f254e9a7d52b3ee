{ out: std.manifestYamlDoc({ only_nl: '\n', two_nl: '\n\n', lead_space: '  indented\n', crlf_end: 'a\r\n', tab_block: '\tx\n', nested: { deeper: ['x\ny\n', { z: 'w\n' }] } }) }
