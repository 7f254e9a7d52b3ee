// The same self-call as tailstrict_recursion.jsonnet without tailstrict: go-jsonnet runs its tail calls in
// constant stack only when marked tailstrict, so 100,000 lazy self-calls exceed the stack limit in both.
local sum(n, acc) = if n == 0 then acc else sum(n - 1, acc + n);
{ out: sum(100000, 0) }
