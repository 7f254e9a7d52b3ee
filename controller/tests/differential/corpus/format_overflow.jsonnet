// '%.25f' % 1e300: the rounding step (1e300 * 1e25) overflows, which go-jsonnet and C++ jsonnet report as an error.
'%.25f' % 1e300
