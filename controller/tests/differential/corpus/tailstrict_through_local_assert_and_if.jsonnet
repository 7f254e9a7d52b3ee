// A tailstrict call in tail position behind local, assert and nested if/else runs in constant stack (go-jsonnet: without counting toward its stack limit), 50,000 deep.
local count(n, acc) =
  local next = n - 1;
  assert n >= 0 : 'negative';
  if n == 0 then acc
  else if n % 2 == 0 then count(next, acc + 2) tailstrict
  else count(next, acc + 1) tailstrict;
{ out: count(50000, 0) }
