// `\/` is a valid escape in JSON and in go-jsonnet (and C++ jsonnet): JSON pasted into Jsonnet often has it.
{ out: ["\/", '\/', "a\/b", '<\/script>', std.length("\/\/"), "\u002f" == "\/"] }
