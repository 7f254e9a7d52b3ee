// %e and %g of subnormal numbers: go-jsonnet prints 0.000000e-308 for 5e-324 (Go's math.Log of a subnormal is
// off, and std.jsonnet's exponent comes from it), C++ jsonnet 5.000000e-324. JaaS computes with Go's log and pow,
// so it prints go-jsonnet's digits.
['%e' % 5e-324, '%g' % 5e-324, '%e' % 1e-310, '%.3g' % -2.2250738585072e-309]
