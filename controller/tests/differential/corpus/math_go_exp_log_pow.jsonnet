// std.exp/log are Go's amd64 assembly (SLEEF exp with FMA, FreeBSD log); std.pow is Go's math.Pow, and
// std.log2/log10 are std.jsonnet's log(x) / log(b) over that log.
local exps = [0, -0, 1, -1, 0.5, 1e-10, 10, -10, 100.5, 700, 709, 709.5 - 0.9, -700, -708.5, -740, -745, 5e-324]
             + [i * 2.9 - 745 for i in std.range(0, 501)];
local logs = [1, 2, 10, 0.5, 0.7, 0.75, 1.5, 1e-300, 1e300, 5e-324, 2.5e-320, 1.7976931348623157e308]
             + [std.pow(10, i / 7) for i in std.range(-300, 300)];
local pows = [[2, 10], [2, 0.5], [10, -3], [1.1, 10], [-2, 3], [-2, -3], [2, -1074], [2, 1023.5], [0.5, 2000],
              [1.0000001, 1e7], [7, 1e-5], [3, 0.75], [0, 0], [0, 3], [-1, 1e300], [1e-300, 0.5]]
             + [[i * 0.13, 17 - i * 0.29] for i in std.range(1, 120)]
             + [[i * 0.5 - 30, i - 60] for i in std.range(0, 120)];
{
  exp: [std.toString(std.exp(x)) for x in exps],
  log: [std.toString(std.log(x)) for x in logs],
  log2: [std.toString(std.log2(x)) for x in logs],
  log10: [std.toString(std.log10(x)) for x in logs],
  pow: [std.toString(std.pow(p[0], p[1])) for p in pows],
}
