{ out: [std.escapeStringDollars(s) for s in ['$x', '$$', 'no', '$ $ $', '']] }
