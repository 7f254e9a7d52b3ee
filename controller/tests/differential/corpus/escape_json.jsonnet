{ out: [std.escapeStringJson(s) for s in ['plain', 'q"q', 'b\\s', 'nl\n', 'tab\t', '\u0000', '\u001f', '\u007f', 'é', '😀', '</script>']] }
