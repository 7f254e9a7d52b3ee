// `\x41` is no Jsonnet escape: go-jsonnet and C++ jsonnet reject it.
"\x41"
