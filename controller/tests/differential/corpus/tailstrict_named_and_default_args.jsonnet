// tailstrict calls with named arguments or defaults (not the constant-stack form here): same values, small depth.
local f(n, acc=0) = if n == 0 then acc else f(n=n - 1, acc=acc + n) tailstrict;
local g(n, step=1) = if n <= 0 then 'done' else g(n - step) tailstrict;
local h(x) = x * 2;
{ named: f(100), defaulted: g(50), builtin: std.length([1, 2]) tailstrict, plain: h(21) tailstrict, objField: { a(n): n + 1 }.a(1) tailstrict }
