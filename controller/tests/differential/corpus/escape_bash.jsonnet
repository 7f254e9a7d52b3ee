{ out: [std.escapeStringBash(s) for s in ['plain', "it's", 'a b', '$HOME', '"dq"', 'nl\nx', '']] }
