{ out: [std.escapeStringBash('a\'b\'c'), std.escapeStringDollars('$$$'), std.escapeStringJson(12), std.escapeStringJson([1, 'a']), std.escapeStringJson(0.1)] }
