// %e and %g of subnormal numbers: go-jsonnet prints 0.000000e-308 for 5e-324 (its std.log of a subnormal is off),
// C++ jsonnet and JaaS 5.000000e-324. A known difference, kept as a go-jsonnet bug.
['%e' % 5e-324, '%g' % 5e-324, '%e' % 1e-310, '%.3g' % -2.2250738585072e-309]
