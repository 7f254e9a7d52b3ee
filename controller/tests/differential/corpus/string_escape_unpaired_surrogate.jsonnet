// A high surrogate followed by an escape that is not a low surrogate: go-jsonnet decodes the pair to U+FFFD
// (and drops the `A`); C++ jsonnet and jrsonnet reject the literal.
"\uD83D\u0041"
