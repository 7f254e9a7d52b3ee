{ out: [std.escapeStringPython(s) for s in ['plain', "it's", '"q"', 'nl\n', 'é', '\u0001']] }
