{ out: std.manifestYamlDoc({ script: '#!/bin/sh\necho hi\n', noeol: 'line1\nline2', trailing: 'a\n\n', lead: '\n starts with newline', crlf: 'a\r\nb' }) }
